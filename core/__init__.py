"""Core of VAE Latent Explorer: model, loss, data, training and latent tools.

Pure torch + numpy + scikit-learn; nothing here may import Qt (a test enforces it).
"""
