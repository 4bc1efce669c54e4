"""Per-video reports on a real ingested recording: the timeline shows every speaker, in proportion."""

from __future__ import annotations

import base64
import io
import re
from uuid import UUID

import numpy as np
import pytest
from PIL import Image
from prefect.client.schemas.objects import Artifact

from vidscribe.reports import (
    ARTIFACT_PREFIX,
    diarization_peak_vram_mib,
    publish_video_report,
    report_slug,
    speaker_colours,
    speaker_timeline_png,
    talk_time,
    video_report_markdown,
)
from vidscribe.transcript import Segment


@pytest.fixture(scope="module")
def ingested(settings, prefect_api, sample):
    """pyannote's two-speaker sample through the real flow: its result, stored segments and flow run id."""
    from vidscribe_flows.ingest import ingest_video
    from vidscribe.db import get_engine, video_segments

    state = ingest_video(str(sample["audio"]), force=True, return_state=True)  # the session may hold it already
    result = state.result()
    return result, video_segments(get_engine(settings), result.video_id), state.state_details.flow_run_id


def report_artifacts(key: str, flow_run_id: UUID) -> list[Artifact]:
    """The artifacts with this key that one flow run made.

    Through the client's raw request: Prefect 3.8.8's `read_artifacts` sends omitted filters as null, which its
    server rejects (422), and an empty task-run filter would drop artifacts made by a flow, outside any task.
    """
    from prefect.client.orchestration import get_client

    body = {"artifacts": {"key": {"any_": [key]}}, "flow_runs": {"id": {"any_": [str(flow_run_id)]}}}
    with get_client(sync_client=True) as client:
        response = client.request("POST", "/artifacts/filter", json=body)
    response.raise_for_status()
    return Artifact.model_validate_list(response.json())


def colour_pixels(png: bytes, hex_colour: str) -> int:
    """How many pixels have exactly this colour (bars are drawn without antialiasing)."""
    rgb = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
    target = np.array([int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)])
    return int(np.all(rgb == target, axis=-1).sum())


def test_timeline_shows_every_speaker_in_proportion_to_talk_time(ingested):
    result, segments, _ = ingested
    png = speaker_timeline_png(segments, result.duration, result.title)
    image = Image.open(io.BytesIO(png))
    image.verify()
    assert image.format == "PNG" and 800 <= image.width <= 1200 and 150 <= image.height <= 600
    assert len(png) < 80_000  # small enough for a data URI in the artifact

    times = talk_time(segments)
    assert len(times) >= 2, times  # the sample has two voices
    pixels = {name: colour_pixels(png, colour) for name, colour in speaker_colours(segments).items()}
    per_second = {name: pixels[name] / times[name] for name in times}
    print("pixels", pixels, "talk time", times)
    assert all(count >= 200 for count in pixels.values()), pixels
    ranked_by_time = list(times)
    assert sorted(pixels, key=lambda n: -pixels[n]) == ranked_by_time
    assert max(per_second.values()) / min(per_second.values()) < 1.3, per_second


def test_timeline_of_known_segments_scales_with_duration():
    """Exact inputs: 30 s against 10 s of talk gives three times the pixels; a silent video still renders."""
    segments = [Segment(0, 20, "a", "Ada", 0.9, -0.2, 0.0), Segment(20, 30, "b", "Bob", 0.9, -0.2, 0.0),
                Segment(40, 50, "c", "Ada", 0.9, -0.2, 0.0)]
    png = speaker_timeline_png(segments, 60.0, "known")
    colours = speaker_colours(segments)
    ratio = colour_pixels(png, colours["Ada"]) / colour_pixels(png, colours["Bob"])
    assert 2.8 < ratio < 3.2, ratio
    assert png == speaker_timeline_png(segments, 60.0, "known")  # deterministic
    Image.open(io.BytesIO(speaker_timeline_png([], 60.0, "silent"))).verify()


def test_markdown_lists_talk_time_stages_and_image(ingested):
    result, segments, _ = ingested
    markdown = video_report_markdown(result.title, "file:///sample.wav", result.duration, segments,
                                     result.stage_seconds, diarization_peak_vram_mib(result.telemetry), "timeline.png")
    times = talk_time(segments)
    total = sum(times.values())
    rows = re.findall(r"^\| (\S+) \| ([\d.]+) \| ([\d.]+)% \|$", markdown, flags=re.M)
    assert [name for name, _, _ in rows] == list(times)  # most talk first
    for name, seconds, share in rows:
        assert float(seconds) == pytest.approx(times[name], abs=0.05)
        assert float(share) == pytest.approx(100 * times[name] / total, abs=0.05)
    for stage, seconds in result.stage_seconds.items():
        assert f"| {stage} | {seconds:.2f} |" in markdown
    assert f"{len(segments)} segments" in markdown
    peak = diarization_peak_vram_mib(result.telemetry)
    assert f"Diarization VRAM peak: {'CPU run' if peak is None else f'{peak:.0f} MiB'}" in markdown
    assert "![speaker timeline](timeline.png)" in markdown


def test_ingest_flow_publishes_its_report(ingested):
    result, segments, flow_run_id = ingested
    (artifact,) = report_artifacts(f"{ARTIFACT_PREFIX}-{report_slug(result.source_id)}", flow_run_id)
    assert artifact.type == "markdown" and "](data:image/png;base64," in artifact.data
    assert all(f"| {name} |" in artifact.data for name in talk_time(segments))


def test_publish_writes_the_png_and_embeds_it_in_the_artifact(ingested, settings):
    from prefect import flow

    result, segments, _ = ingested

    @flow(name="publish-report-test")
    def publish():  # artifacts belong in a run: creating one outside is deprecated in Prefect 3
        return publish_video_report(result.source_id, result.title, "file:///sample.wav", result.duration, segments,
                                    result.stage_seconds, result.telemetry, result.diarization, settings)

    state = publish(return_state=True)
    path = state.result()
    assert path.parent == settings.data_dir / "reports" and path.name == f"{report_slug(result.source_id)}.png"
    (artifact,) = report_artifacts(f"{ARTIFACT_PREFIX}-{report_slug(result.source_id)}",
                                   state.state_details.flow_run_id)
    embedded = re.search(r"!\[speaker timeline\]\(data:image/png;base64,([A-Za-z0-9+/=]+)\)", artifact.data)
    assert embedded and base64.b64decode(embedded.group(1)) == path.read_bytes()
    assert str(path) in artifact.description


def test_report_slug_is_a_valid_key_and_keeps_ids_apart():
    assert report_slug("local:a/b") != report_slug("local:a:b")
    for source_id in ("youtube:dQw4w9WgXcQ", "generic:urn:Episode/1", ":::", "x" * 300):
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", report_slug(source_id))
        assert len(f"{ARTIFACT_PREFIX}-{report_slug(source_id)}") <= 100
