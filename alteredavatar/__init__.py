"""alteredavatar: stylize animatable 3D head avatars fast (AlteredAvatar, arXiv 2305.19245).

The sub-packages are the pipeline, and imports point only down it (tests/test_layout.py checks):

    raster    differentiable triangle rasterizer (PyTorch reference, optional nvdiffrast), normals,
              texture lookup
    avatar    meshes, blendshapes, identities, the avatar network and its style parameters
    render    cameras, shading, avatar frames, turntables and grids
    guidance  VGG16 / CLIP / texture-statistics style losses, procedural styles, image helpers
    adapt     test-time stylization (`stylize`), objective, style files
    meta      meta-learned initialization (Reptile, FOMAML, Meta-SGD), typed run configs and presets
    eval      metrics and judges
    export    the pictures users keep
    photo     an avatar from one photo (MediaPipe landmarks in their own environment, shape fit, texture)
    cli       one command line over all of it
"""

__version__ = "0.1.0"
