"""The chapter's claims C1-C24 (the checklist every study reports against), as data.

Copied from the project's claims checklist so that the package never reads outside itself at run time. Each
study's ``summary.json`` gives a verdict for the claims it measures; :mod:`xgnn_jax.study.report` lists every claim here
and marks those that no study has measured yet as "not yet measured".
"""

from __future__ import annotations

CLAIMS: dict[str, tuple[str, str]] = {
    # id: (short title, statement)
    "C1": ("M-P neuron", "y = f(sum_i w_i x_i - theta); f is the step function or the sigmoid."),
    "C2": ("Perceptron model", "f(x) = sign(w.x + b); loss over the misclassified set M: L(w,b) = -sum_{i in M} "
           "y_i (w.x_i + b) >= 0, and L = 0 exactly when nothing is misclassified."),
    "C3": ("Perceptron learning", "Pick a misclassified point, update w <- w + eta y_i x_i, b <- b + eta y_i; "
           "y_i(w.x_i + b) grows by eta (|x_i|^2 + 1)."),
    "C4": ("Novikoff convergence", "On linearly separable data with margin gamma and R = max |(x_i, 1)|, the number "
           "of updates is at most (R/gamma)^2; the hyperplane found depends on the initial values and the order."),
    "C5": ("XOR", "XOR is not linearly separable; a single perceptron never converges on it."),
    "C6": ("Two layers solve XOR", "Two perceptrons feeding a third compute XOR; a trained 2-2-1 sigmoid network "
           "learns it too."),
    "C7": ("Activations are necessary", "Without activations a multi-layer network collapses to one linear map "
           "and still cannot fit XOR."),
    "C8": ("Universal approximation", "One hidden layer with enough units approximates any continuous function; "
           "in practice several layers are easier to train than one extremely wide layer."),
    "C9": ("The 2-3-2 network", "Sigmoid hidden layer, softmax, cross-entropy; the gradient at the output logits "
           "is o - o*; every weight's gradient by the chain rule."),
    "C10": ("Output choices", "Softmax + cross-entropy for exclusive classes; independent sigmoids + binary "
            "cross-entropy otherwise; the book uses sigmoid outputs with E = 1/2 sum (y_hat - y)^2."),
    "C11": ("Standard BP vs accumulated BP", "Standard BP (per example) updates more often, its updates can "
            "cancel, and it needs more iterations to reach the same accumulated-error minimum; on large training "
            "sets it gets to a low error faster."),
    "C12": ("Vectorised L-layer network", "Z = A W + b, A = g(Z); dZ = dA * g'(Z), dW = A^T dZ / m, "
            "db = mean dZ, dA_prev = dZ W^T."),
    "C13": ("The numpy two-layer net", "64-1000-100-10 ReLU net, sum of squares, hand-written gradients, lr 1e-6, "
            "500 steps; the article's grad_y_pred lacks the factor 2."),
    "C14": ("The buggy generic numpy DNN", "The article's DNN class has several bugs; a correct generic network "
            "checked against jax.grad is the answer, and a gradient check must catch each bug."),
    "C15": ("Framework versions", "The same models written with a framework give the same numbers as the "
            "hand-written ones."),
    "C16": ("Overfitting", "Early stopping on a validation set and the book's regularised error "
            "E = lambda (1/m) sum E_k + (1 - lambda) sum w^2 reduce overfitting."),
    "C17": ("Local minima", "Gradient descent can stop in a local minimum that depends on the initial parameters; "
            "ways out: several random initialisations, simulated annealing, stochastic gradient descent."),
    "C18": ("Depth beats width", "Adding hidden layers raises capacity more effectively than adding units to one "
            "layer."),
    "C19": ("Zero init, sigmoid", "With zero weights and biases, hidden units stay identical for ever; the network "
            "updates from the back, one more layer per step."),
    "C20": ("Zero weights, random biases", "The first step updates only the last layer; then layer by layer from "
            "the back everything updates and the network trains, slowly."),
    "C21": ("tanh/ReLU with zero weights", "Hidden activations are 0, so no weight ever receives a gradient; only "
            "the output bias moves."),
    "C22": ("Logistic regression from zeros", "Logistic regression can start from all zeros and trains normally."),
    "C23": ("Embeddings from zeros", "Embedding tables can start from zeros, because different rows meet different "
            "downstream units."),
    "C24": ("Recommended initialisation", "Uniform in (-1/sqrt(d), 1/sqrt(d)), d the layer's fan-in."),
}

VERDICTS = ("holds", "holds under conditions", "does not hold", "inconclusive", "not yet measured")
"""The verdict vocabulary. ``inconclusive``: the run cannot separate two outcomes at its sample size (an effect's
confidence interval straddles the decision threshold); the verdict then says which outcomes and why."""
