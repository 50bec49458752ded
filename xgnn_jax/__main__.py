from xgnn_jax.cli import main

raise SystemExit(main())
