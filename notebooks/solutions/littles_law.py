# Reference solution: "Predict the threads with Little's law" (notebook 05)
# Little's law: L = λ × W. Requests arrive at RATE per second and each one stays
# WAIT seconds, so RATE * WAIT of them are inside the server at any moment; a
# thread-per-request server holds one thread for each.
# (RATE and WAIT are the notebook's sizes, set in its "sizes" cell.)
my_prediction = RATE * WAIT  # noqa: F821
