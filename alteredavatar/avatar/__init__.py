"""Avatar stage: template meshes, blendshapes, identities and the avatar network."""
