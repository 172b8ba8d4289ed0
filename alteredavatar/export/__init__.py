"""Export stage: video / PNG writers (and, later, GLB with morph targets and baked texture)."""
