"""The page (Gradio Blocks) and its server: inputs left, results right, example rows and this session's
styles below.

One queue runs `workers` stylizations (and mixes and applies) at once, in order; the Stop button and the
expression / yaw re-renders do not wait behind it. Errors we raise on purpose show as their one-line message
(HTML-escaped: Gradio renders error text as HTML) in the page; anything else as a short note (the traceback
goes to the server's log only).
"""

from __future__ import annotations

import functools
import html
import logging
import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no calls home unless the user asks for them

from collections.abc import Callable
from pathlib import Path

import gradio as gr

from alteredavatar.app.config import MAX_STEPS, MAX_UPLOAD_BYTES, AppConfig
from alteredavatar.app.jobs import (
    AVATARS,
    Request,
    StepClock,
    StopSwitch,
    ViewRenderer,
    apply_request,
    guidance_choices,
    make_examples,
    mix_request,
    progress_text,
    session_styles,
    stoppable,
    stylize_request,
    summary_text,
)
from alteredavatar.app.sessions import AVATAR_TYPES, end_session, first_line, session_dir
from alteredavatar.avatar.expressions import PRESET_NAMES
from alteredavatar.errors import AlteredAvatarError

log = logging.getLogger(__name__)
INTRO = (
    "# AlteredAvatar\nStylize an animatable 3D head from a style image (or a text prompt with CLIP "
    "guidance). Pick an example below for a first result, then try your own image or a .glb head."
)
NOTHING_TO_STOP = "nothing of yours is running (a queued stylization can be stopped once it starts)"
# Gradio's gallery uses min(columns, items) columns, so one style would fill the page's width
CSS = "#gallery .grid-container { grid-template-columns: repeat(8, minmax(80px, 1fr)) !important; }"


def page_error(exc: BaseException) -> gr.Error:
    """What the page shows for a failure: our errors as one escaped line, anything else as a short note."""
    if isinstance(exc, AlteredAvatarError):
        return gr.Error(html.escape(first_line(exc), quote=False), print_exception=False)
    log.error("the job failed", exc_info=exc)
    return gr.Error(f"the job failed ({type(exc).__name__}); see the server's log", print_exception=False)


def shows_errors(fn: Callable) -> Callable:
    """`fn` with any failure raised as the page's message (`page_error`); Gradio sees `fn`'s signature."""

    @functools.wraps(fn)
    def handler(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            raise page_error(exc) from None

    return handler


def build_app(cfg: AppConfig, root: Path) -> gr.Blocks:
    """The page; examples and session folders live in `root` (which the server may serve)."""
    kinds, note = guidance_choices(cfg.clip)
    examples = make_examples(root)
    stops, views = StopSwitch(), ViewRenderer(cfg)

    def folder_of(request: gr.Request) -> Path:
        return session_dir(root, request.session_hash)

    def shown(meta: dict, folder: Path) -> tuple:
        """A result as the page's result outputs, plus the gallery and the style pickers."""
        out = meta["outputs"]
        styles = session_styles(folder)
        gallery = [(str(s["portrait"]), s["label"]) for s in styles]
        choices = [(s["label"], s["id"]) for s in styles]
        last = choices[-1][1] if choices else None
        return (
            out["portrait"],
            out["expressions"],
            out["turntable"],
            meta["glb"],
            [meta["style"], meta["glb"]],
            summary_text(meta),
            {"style": str(Path(meta["style"]).parent), "avatar": meta["avatar"]},
            "neutral",
            0,
            gallery,
            gr.Dropdown(choices=choices, value=last),
            gr.Dropdown(choices=choices),
        )

    def stylize(avatar, avatar_file, text, image, mix, guidance, strength, steps, seed, request: gr.Request,
                progress=gr.Progress()):  # noqa: B008 (Gradio injects it)  # fmt: skip
        clock = StepClock()

        def on_step(done: int, total: int, parts: dict[str, float]) -> None:
            left = clock.seconds_left(done, total)
            progress((done, total), desc=progress_text(done, total, parts["loss"], left))

        req = Request(avatar, avatar_file, text, image, mix, guidance, strength, steps, seed)
        flag = stops.start(request.session_hash or "")
        try:
            folder = folder_of(request)
            return shown(stylize_request(cfg, folder, req, stoppable(on_step, flag)), folder)
        except Exception as exc:
            raise page_error(exc) from None
        finally:
            stops.finish(request.session_hash or "", flag)

    def stop(request: gr.Request) -> str:
        told = stops.stop(request.session_hash or "")
        return "stopping after the current step" if told else NOTHING_TO_STOP

    @shows_errors
    def rerender(current, expression, yaw, request: gr.Request) -> str:
        return str(views.render(folder_of(request), current, expression, yaw))

    @shows_errors
    def mix(a, b, t, request: gr.Request) -> tuple:
        folder = folder_of(request)
        return shown(mix_request(cfg, folder, a, b, t), folder)

    @shows_errors
    def apply(a, target, avatar_file, request: gr.Request) -> tuple:
        folder = folder_of(request)
        return shown(apply_request(cfg, folder, a, target, avatar_file), folder)

    with gr.Blocks(title="AlteredAvatar", delete_cache=(900, 3600), css=CSS) as demo:
        current = gr.State(None)  # the result on show: {"style": run folder, "avatar": spec}; server-side
        gr.Markdown(INTRO)
        with gr.Row():
            with gr.Column():
                avatar = gr.Dropdown(list(AVATARS), value=AVATARS[0], label="Avatar")
                avatar_file = gr.File(
                    label=f"Your avatar: a .glb, or a .gltf with its .bin and textures selected together "
                    f"(choose '{AVATARS[-1]}' above)",
                    file_count="multiple",
                    file_types=list(AVATAR_TYPES),
                )
                text = gr.Textbox(label="Style text", placeholder="a marble statue (needs clip guidance)")
                image = gr.Image(
                    label="Style image",
                    type="filepath",
                    sources=["upload"],
                    height=200,
                    elem_id="style_image",
                )
                mix_ = gr.Slider(
                    0, 1, 0.5, step=0.05, label="Mix (text - image)",
                    info="with both a text and an image (clip guidance): 0 text only, 1 image only",
                )  # fmt: skip
                guidance = gr.Radio(kinds, value=kinds[0], label="Guidance", info=note or None)
                strength = gr.Slider(
                    0, 1, 0.5, step=0.05, label="Strength", info="0: all style, 1: keep the avatar"
                )
                steps = gr.Slider(1, MAX_STEPS, cfg.adapt.steps, step=1, label="Steps")
                seed = gr.Number(0, precision=0, label="Seed")
                with gr.Row():
                    button = gr.Button("Stylize", variant="primary", elem_id="stylize")
                    stop_button = gr.Button("Stop (keeps what was learned)", variant="stop", elem_id="stop")
                stop_note = gr.Textbox(
                    show_label=False, interactive=False, container=False, elem_id="stop_note"
                )
            with gr.Column():
                portrait = gr.Image(label="Result", type="filepath", interactive=False, elem_id="portrait")
                with gr.Row():
                    expression = gr.Dropdown(
                        list(PRESET_NAMES), value="neutral", label="Expression", elem_id="expression"
                    )
                    yaw = gr.Slider(-180, 180, 0, step=5, label="Yaw (degrees)", elem_id="yaw")
                model = gr.Model3D(label="3D view (drag to orbit)", elem_id="model3d")
                video = gr.Video(label="Turntable", interactive=False, height=320)
                grid = gr.Image(label="Expressions", type="filepath", interactive=False)
                files = gr.File(
                    label="Downloads", file_count="multiple", interactive=False, elem_id="downloads"
                )
                summary = gr.Markdown(elem_id="summary")
        inputs = [avatar, avatar_file, text, image, mix_, guidance, strength, steps, seed]
        gr.Examples(
            [[AVATARS[0], None, "", str(p), 0.5, kinds[0], 0.5, cfg.adapt.steps, 0] for p in examples],
            inputs=inputs,
            label="Examples (built-in style images)",
        )
        with gr.Accordion("This session's styles: mix two, or apply one to another avatar"):
            gallery = gr.Gallery(
                label="Styles",
                columns=8,
                height=180,
                object_fit="contain",
                allow_preview=False,
                interactive=False,
                elem_id="gallery",
            )
            with gr.Row():
                style_a = gr.Dropdown([], label="Style A", elem_id="style_a")
                style_b = gr.Dropdown([], label="Style B", elem_id="style_b")
                t = gr.Slider(0, 1, 0.5, step=0.05, label="Mix t", info="0: style A, 1: style B")
                mix_button = gr.Button("Mix A and B", elem_id="mix")
            with gr.Row():
                target = gr.Dropdown(
                    list(AVATARS), value=AVATARS[-2], label="Apply style A to avatar",
                    info=f"'{AVATARS[-1]}': the file under \"Your avatar\"",
                )  # fmt: skip
                apply_button = gr.Button("Apply A", elem_id="apply")
        results = [
            portrait,
            grid,
            video,
            model,
            files,
            summary,
            current,
            expression,
            yaw,
            gallery,
            style_a,
            style_b,
        ]
        button.click(stylize, inputs, results, api_name="stylize")
        stop_button.click(
            stop, None, stop_note, api_name="stop", concurrency_limit=None, concurrency_id="stop"
        )
        view_args = {"concurrency_limit": cfg.workers, "concurrency_id": "view"}
        view_in = [current, expression, yaw]
        expression.input(rerender, view_in, portrait, api_name="view", **view_args)
        yaw.release(rerender, view_in, portrait, api_name="yaw", **view_args)
        mix_button.click(mix, [style_a, style_b, t], results, api_name="mix")
        apply_button.click(apply, [style_a, target, avatar_file], results, api_name="apply")

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
