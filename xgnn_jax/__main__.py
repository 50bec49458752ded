from xgnn_jax.study.cli import main

raise SystemExit(main())
