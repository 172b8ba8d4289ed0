"""MediaPipe FaceMesh in a separate process: `python -m alteredavatar.photo.landmarks_worker REQUEST RESULT`.

Runs in the landmark environment (`make landmarks-env`: mediapipe==0.10.21, numpy<2), so it imports only
numpy, Pillow and mediapipe. REQUEST is a JSON file {"images": [PNG paths], "max_faces": int}; RESULT gets
{"mediapipe": version, "results": [{"width", "height", "faces": [(478, 3) lists of x, y in pixels, z]}]}.
"""

from __future__ import annotations

import json
import sys

import numpy as np
from PIL import Image

NUM_LANDMARKS = 478


def detect(paths: list[str], max_faces: int) -> list[dict]:
    """Every face FaceMesh finds in each image: (478, 3) pixel x, y and relative depth z."""
    import mediapipe as mp

    out = []
    with mp.solutions.face_mesh.FaceMesh(
        static_image_mode=True, refine_landmarks=True, max_num_faces=max_faces, min_detection_confidence=0.5
    ) as mesh:
        for path in paths:
            rgb = np.asarray(Image.open(path).convert("RGB"))
            h, w = rgb.shape[:2]
            found = mesh.process(np.ascontiguousarray(rgb)).multi_face_landmarks or []
            faces = [[[p.x * w, p.y * h, p.z * w] for p in f.landmark] for f in found]
            out.append({"width": w, "height": h, "faces": [f for f in faces if len(f) == NUM_LANDMARKS]})
    return out


def main(argv: list[str]) -> int:
    import mediapipe as mp

    with open(argv[0]) as fh:
        request = json.load(fh)
    results = detect(request["images"], int(request.get("max_faces", 4)))
    with open(argv[1], "w") as fh:
        json.dump({"mediapipe": getattr(mp, "__version__", "?"), "results": results}, fh)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
