"""Per-video reports: the timeline PNG really shows each speaker, and the artifact reaches Prefect."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageColor
import httpx
from prefect.settings import PREFECT_API_URL

from flows.ingest import ingest_video
from vidscribe.db import get_engine, video_segments
from vidscribe.reports import (
    ARTIFACT_PREFIX,
    report_slug,
    speaker_colours,
    speaker_timeline_png,
    talk_time,
    video_report_markdown,
)


def test_timeline_png_shows_each_speaker_in_proportion(settings, prefect_api, sample):
    result = ingest_video(str(sample["audio"]), force=True)
    segments = video_segments(get_engine(settings), result.video_id)
    image = Image.open(io.BytesIO(speaker_timeline_png(segments, result.duration, result.title)))
    assert image.format == "PNG" and image.width >= 600 and image.height >= 100
    pixels = np.asarray(image.convert("RGB")).reshape(-1, 3)
    colours = speaker_colours(segments)
    counts = {name: int((pixels == ImageColor.getrgb(hex_colour)).all(axis=1).sum())
              for name, hex_colour in colours.items()}
    times = talk_time(segments)
    print("speaker pixels:", counts, "talk time (s):", {k: round(v, 1) for k, v in times.items()})
    assert len(colours) == 2 and all(count > 500 for count in counts.values())
    # pixels per second of talk agree between speakers within 25%: the bars are drawn to scale
    density = [counts[name] / times[name] for name in colours]
    assert max(density) / min(density) < 1.25

    markdown = video_report_markdown(result.title, "file:///x", result.duration, segments,
                                     result.stage_seconds, None, "data:image/png;base64,AAAA")
    for name, seconds in times.items():
        assert f"| {name} | {seconds:.1f} |" in markdown
    assert "| transcribe |" in markdown and "CPU run" in markdown
    assert "![speaker timeline](data:image/png;base64,AAAA)" in markdown


def test_ingest_publishes_the_report_artifact(settings, prefect_api, sample):
    result = ingest_video(str(sample["audio"]), force=True)
    key = f"{ARTIFACT_PREFIX}-{report_slug(result.source_id)}"
    # the REST API directly: Prefect 3.8.8's client serializes this filter with nulls its server rejects (422)
    response = httpx.post(f"{PREFECT_API_URL.value()}/artifacts/filter", timeout=30,
                          json={"artifacts": {"key": {"any_": [key]}}, "sort": "CREATED_DESC", "limit": 5,
                                "offset": 0})
    response.raise_for_status()
    artifact = response.json()[0] if response.json() else None
    assert artifact is not None and artifact["type"] == "markdown"
    assert "data:image/png;base64," in artifact["data"] and "SPEAKER_00" in artifact["data"]
    assert (settings.data_dir / "reports" / f"{report_slug(result.source_id)}.png").stat().st_size > 1000
