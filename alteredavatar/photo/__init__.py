"""Photo stage: an avatar from one photo (landmarks -> shape + camera fit -> projected texture -> .glb).

`landmarks_worker` runs in its own environment (MediaPipe needs numpy<2), so nothing here may be imported
at package level: this file stays empty of imports.
"""
