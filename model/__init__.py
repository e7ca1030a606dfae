"""The piano-roll RNN-RBM and its GRU/LSTM variants (Keras); arrives with the train issue."""
