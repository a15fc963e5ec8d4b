"""pelvic-spread: perineural tumour spread in the pelvis, in 3D."""
__version__ = "0.1.0"
