"""The RNN-RBM and its GRU/LSTM variants (Keras layers), training, likelihood (AIS), evaluation and
sampling."""
