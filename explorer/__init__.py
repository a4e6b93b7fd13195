"""The Qt desktop app of VAE Latent Explorer, driven entirely by `core`."""
