"""The page (Gradio Blocks) and its server: inputs left, results right, example rows below.

One queue runs `workers` stylizations at once, in order. Errors we raise on purpose show as their one-line
message in the page; anything else as a short note (the traceback goes to the server's log only).
"""

from __future__ import annotations

import logging
import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no calls home unless the user asks for them

from pathlib import Path

import gradio as gr

from alteredavatar.app.config import MAX_STEPS, MAX_UPLOAD_BYTES, AppConfig
from alteredavatar.app.jobs import (
    AVATARS,
    Request,
    guidance_choices,
    make_examples,
    stylize_request,
)
from alteredavatar.app.sessions import end_session, first_line, session_dir
from alteredavatar.errors import AlteredAvatarError

log = logging.getLogger(__name__)
INTRO = (
    "# AlteredAvatar\nStylize an animatable 3D head from a style image (or a text prompt with CLIP "
    "guidance). Pick an example below for a first result, then try your own image or a .glb head."
)


def build_app(cfg: AppConfig, root: Path) -> gr.Blocks:
    """The page; examples and session folders live in `root` (which the server may serve)."""
    kinds, note = guidance_choices()
    examples = make_examples(root)

    def stylize(avatar, avatar_file, text, image, guidance, strength, steps, seed, request: gr.Request,
                progress=gr.Progress()):  # noqa: B008 (Gradio injects it)  # fmt: skip
        def on_step(done: int, total: int, parts: dict[str, float]) -> None:
            progress((done, total), desc=f"adapting: step {done}/{total}, loss {parts['loss']:.4f}")

        req = Request(avatar, avatar_file, text, image, guidance, strength, steps, seed)
        try:
            meta = stylize_request(cfg, session_dir(root, request.session_hash), req, on_step)
        except AlteredAvatarError as exc:
            raise gr.Error(first_line(exc)) from None
        except Exception as exc:
            log.exception("stylization failed")
            raise gr.Error(f"the stylization failed ({type(exc).__name__}); see the server's log") from None
        out = meta["outputs"]
        summary = (
            f"{meta['steps']} steps in {meta['seconds']:.1f} s ({meta['guidance']} guidance, {meta['init']})"
        )
        return (
            out["portrait"],
            out["expressions"],
            out["turntable"],
            meta["glb"],
            [meta["style"], meta["glb"]],
            summary,
        )

    with gr.Blocks(title="AlteredAvatar", delete_cache=(900, 3600)) as demo:
        gr.Markdown(INTRO)
        with gr.Row():
            with gr.Column():
                avatar = gr.Dropdown(list(AVATARS), value=AVATARS[0], label="Avatar")
                avatar_file = gr.File(
                    label="Your avatar (.glb; choose 'uploaded .glb' above)", file_types=[".glb"]
                )
                text = gr.Textbox(label="Style text", placeholder="a marble statue (needs clip guidance)")
                image = gr.Image(
                    label="Style image",
                    type="filepath",
                    sources=["upload"],
                    height=200,
                    elem_id="style_image",
                )
                guidance = gr.Radio(kinds, value=kinds[0], label="Guidance", info=note or None)
                strength = gr.Slider(
                    0, 1, 0.5, step=0.05, label="Strength (0: all style, 1: keep the avatar)"
                )
                steps = gr.Slider(1, MAX_STEPS, cfg.adapt.steps, step=1, label="Steps")
                seed = gr.Number(0, precision=0, label="Seed")
                button = gr.Button("Stylize", variant="primary", elem_id="stylize")
            with gr.Column():
                portrait = gr.Image(label="Portrait", type="filepath", interactive=False, elem_id="portrait")
                model = gr.Model3D(label="3D view (drag to orbit)", elem_id="model3d")
                video = gr.Video(label="Turntable", interactive=False)
                grid = gr.Image(label="Expressions", type="filepath", interactive=False)
                files = gr.File(
                    label="Downloads", file_count="multiple", interactive=False, elem_id="downloads"
                )
                summary = gr.Markdown(elem_id="summary")
        inputs = [avatar, avatar_file, text, image, guidance, strength, steps, seed]
        gr.Examples(
            [[AVATARS[0], None, "", str(p), "texture", 0.5, cfg.adapt.steps, 0] for p in examples],
            inputs=inputs,
            label="Examples (built-in style images)",
        )
        button.click(stylize, inputs, [portrait, grid, video, model, files, summary], api_name="stylize")

        def forget(request: gr.Request) -> None:
            end_session(root, request.session_hash)

        demo.unload(forget)
    return demo


def launch(cfg: AppConfig, root: Path, block: bool = True) -> gr.Blocks:
    """Build and serve the page on cfg.host:cfg.port; `block=False` returns at once (tests)."""
    cfg.check()
    demo = build_app(cfg, root)
    demo.queue(default_concurrency_limit=cfg.workers)
    demo.launch(
        server_name=cfg.host,
        server_port=cfg.port,
        share=cfg.share,
        max_file_size=MAX_UPLOAD_BYTES,
        allowed_paths=[str(root)],
        prevent_thread_lock=not block,
        quiet=not block,
    )
    return demo
