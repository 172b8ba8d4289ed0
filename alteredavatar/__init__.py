"""alteredavatar: stylize animatable 3D head avatars fast (AlteredAvatar, arXiv 2305.19245).

Data flows through the sub-packages in this order:
avatar -> render -> guidance -> adapt / meta -> export / app.
"""

__version__ = "0.1.0"
