"""The SAM 2 family engines on tiny random checkpoints: the real loading, prompting, streaming and
memory paths (quality needs real weights, which cannot be downloaded here)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import save_tiny

import mattetrack.engines.sam.engine as engine_mod
from mattetrack.engines import get_engine
from mattetrack.engines.sam import SamEngine, SamParams, load_model
from mattetrack.engines.sam.inputs import plate_tensor, square_mask
from mattetrack.engines.sam.memory import bank_bytes
from mattetrack.errors import InputError
from mattetrack.prompts import FramePrompts, Stroke
from mattetrack.synthetic import SyntheticSource

W, H = 160, 90
FAMILY_NAMES = ("sam2", "edgetam", "sam3")


@pytest.fixture(scope="module")
def source() -> SyntheticSource:
    return SyntheticSource.render(n_frames=10, width=W, height=H, seed=1, first_frame=1001)


def _key(source: SyntheticSource, frame: int) -> np.ndarray:
    """A keyframe coverage: the bright parts of the frame (any mask will do for random weights)."""
    return (source.image(frame)[..., 0] > 0.5).astype(np.float32)


@pytest.fixture(scope="module")
def engines(tiny_checkpoints) -> dict[str, SamEngine]:
    return {f: SamEngine(f, str(tiny_checkpoints[f]), device="cpu") for f in FAMILY_NAMES}


@pytest.mark.parametrize("family", FAMILY_NAMES)
def test_each_family_selects_and_propagates(engines, source, family):
    eng = engines[family]
    assert eng.name == family and eng.device.type == "cpu"
    prompts = FramePrompts()
    prompts.add_point(80.5, 45.5)
    prompts.add_point(20.5, 10.5, positive=False)
    cov = eng.select(source.image(1003), prompts)
    assert cov.shape == (H, W) and cov.dtype == np.float32
    assert np.isfinite(cov).all() and 0.0 <= cov.min() <= cov.max() <= 1.0
    key = _key(source, 1003)
    results = [r[:2] for r in eng.propagate(source, {5: {1003: key}}, source.frames)]
    assert [f for f, _ in results] == source.frames
    for _, covs in results:
        assert set(covs) == {5}
        assert covs[5].shape == (H, W) and covs[5].dtype == np.float32
        assert np.isfinite(covs[5]).all()
    # The keyframe's own coverage comes back unchanged.
    np.testing.assert_array_equal(dict(results)[1003][5], key)


@pytest.mark.parametrize("family", FAMILY_NAMES)
def test_tracking_equals_transformers_own_session(engines, source, family, monkeypatch):
    """The capped, streamed driver gives transformers' own (uncapped) results bit for bit: the
    cap keeps everything the model attends to, and nothing else."""
    eng = engines[family]
    logits: list[torch.Tensor] = []
    real = engine_mod.upsample_logits

    def spy(lg, plate, params):
        logits.append(lg.clone())
        return real(lg, plate, params)

    monkeypatch.setattr(engine_mod, "upsample_logits", spy)
    key = _key(source, 1001)
    list(eng.propagate(source, {3: {1001: key}}, source.frames))
    assert len(logits) == len(source.frames) - 1

    net = eng.loaded.model
    session = eng.loaded.session_class(video_height=H, video_width=W, inference_device="cpu",
                                       dtype=torch.float32)
    idx = session.obj_id_to_idx(3)
    session.add_mask_inputs(idx, 0, square_mask(torch.from_numpy(key), eng.size))
    session.obj_with_new_inputs = [3]
    with torch.inference_mode():
        for i, frame in enumerate(source.frames):
            pixels = eng._pixels(plate_tensor(source.image(frame), eng.device))
            out = net(session, frame_idx=i, frame=pixels)
            if i:
                ref = out.pred_masks.reshape(logits[i - 1].shape)
                torch.testing.assert_close(logits[i - 1], ref, rtol=0, atol=0)
    # transformers kept every frame and all its outputs; MatteTrack kept a bounded bank.
    assert len(session.processed_frames) == len(source.frames)


def _bank_sizes(eng: SamEngine, src: SyntheticSource, monkeypatch) -> list[int]:
    """Bytes the inference session holds after each frame of a propagation."""
    sizes: list[int] = []
    real = engine_mod.forget

    def spy(session, frame_idx, memory_frames):
        real(session, frame_idx, memory_frames)
        assert session.processed_frames is None or len(session.processed_frames) == 0
        sizes.append(bank_bytes(session))

    monkeypatch.setattr(engine_mod, "forget", spy)
    keys = {1: {src.frames[0]: _key(src, src.frames[0])}}
    for _ in eng.propagate(src, keys, src.frames):
        pass
    return sizes


def test_memory_bank_does_not_grow_with_shot_length(engines, monkeypatch):
    eng = engines["sam2"]
    short = SyntheticSource.render(n_frames=20, width=64, height=48, seed=2)
    long = SyntheticSource.render(n_frames=45, width=64, height=48, seed=2)
    a, b = _bank_sizes(eng, short, monkeypatch), _bank_sizes(eng, long, monkeypatch)
    reach = eng.memory_frames + 2  # the bank fills over the model's reach, then stays put
    assert max(a[reach:]) == max(b[reach:]) == max(b)
    assert b[-1] == a[-1]
    # A cap below the model's reach keeps fewer frames.
    capped = SamEngine("sam2", loaded=eng.loaded, params=SamParams(memory_frames=3))
    c = _bank_sizes(capped, long, monkeypatch)
    assert max(c) < max(b)


def test_both_directions_several_objects_and_a_range(engines, source, monkeypatch):
    eng = engines["sam2"]
    calls: list[tuple[int, int, bool, bool]] = []
    net = eng.loaded.model
    real = net._run_single_frame_inference

    def spy(**kw):
        calls.append((kw["frame_idx"], kw["obj_idx"], kw["is_init_cond_frame"], kw["reverse"]))
        return real(**kw)

    monkeypatch.setattr(net, "_run_single_frame_inference", spy)
    # Object 1: keyframes 1003 and 1008; object 2: keyframe 1006 only. Range 1002-1009.
    keys = {1: {1003: _key(source, 1003), 1008: _key(source, 1008)},
            2: {1006: 1.0 - _key(source, 1006)}}
    frames = list(range(1002, 1010))
    results = [r[:2] for r in eng.propagate(source, keys, frames)]
    assert [f for f, _ in results] == frames
    out = dict(results)
    np.testing.assert_array_equal(out[1003][1], keys[1][1003])
    np.testing.assert_array_equal(out[1008][1], keys[1][1008])
    np.testing.assert_array_equal(out[1006][2], keys[2][1006])
    pos = {f: i for i, f in enumerate(source.frames)}
    cond = {(f, o) for f, o, init, _ in calls if init}
    assert cond == {(pos[1003], 0), (pos[1008], 0), (pos[1006], 1)}
    tracked = [(f, o, rev) for f, o, init, rev in calls if not init]
    # Object 1 (index 0): backwards to 1002 from its first keyframe, forwards from it to 1009.
    assert [f for f, o, rev in tracked if o == 0 and rev] == [pos[1002]]
    assert [f for f, o, rev in tracked if o == 0 and not rev] == [
        pos[f] for f in (1004, 1005, 1006, 1007, 1009)]
    # Object 2: backwards 1005..1002 (descending, one frame at a time), forwards 1007..1009.
    assert [f for f, o, rev in tracked if o == 1 and rev] == [pos[f] for f in (1005, 1004, 1003,
                                                                                1002)]
    assert [f for f, o, rev in tracked if o == 1 and not rev] == [pos[f] for f in (1007, 1008,
                                                                                    1009)]


def test_select_maps_prompts_onto_the_model_square(engines, source, monkeypatch):
    eng = engines["sam2"]
    net = eng.loaded.model
    seen: list[dict] = []
    real = net._single_frame_forward
    encodes = []
    real_embed = net.get_image_embeddings

    def spy(**kw):
        seen.append(kw)
        return real(**kw)

    def embed(pixels):
        encodes.append(pixels.shape)
        return real_embed(pixels)

    monkeypatch.setattr(net, "_single_frame_forward", spy)
    monkeypatch.setattr(net, "get_image_embeddings", embed)
    image = source.image(1005).copy()
    s = eng.size
    one = FramePrompts()
    one.add_point(W / 2, H / 2)
    eng.select(image, one)
    pts = seen[-1]["input_points"]
    torch.testing.assert_close(pts, torch.tensor([[[[s / 2 - 0.5, s / 2 - 0.5]]]]))
    assert seen[-1]["input_labels"].tolist() == [[[1]]]
    assert seen[-1]["multimask_output"] is True  # one click is ambiguous

    boxed = FramePrompts(box=(-10.0, 0.0, W / 2, H + 5.0))  # dragged past two edges
    boxed.add_point(W / 4, H / 4, positive=False)
    eng.select(image, boxed)
    torch.testing.assert_close(
        seen[-1]["input_boxes"], torch.tensor([[[-0.5, -0.5, s / 2 - 0.5, s - 0.5]]]))
    assert seen[-1]["input_labels"].tolist() == [[[0]]]
    assert seen[-1]["multimask_output"] is False
    # Two clicks on one frame encode the image once.
    assert len(encodes) == 1 and encodes[0] == (1, 3, s, s)

    mask = np.zeros((H, W), np.float32)
    mask[20:60, 30:90] = 1.0
    assert np.array_equal(eng.select(image, FramePrompts(mask=mask)), mask)
    assert len(seen) == 2  # a mask alone is its own answer
    with_mask = FramePrompts(mask=mask)
    with_mask.add_point(60.5, 40.5)
    eng.select(image, with_mask)
    dense = seen[-1]["input_masks"]
    assert dense.shape == (1, 1, eng.mask_size, eng.mask_size)
    assert float(dense.max()) == pytest.approx(10.0) and float(dense.min()) == pytest.approx(-10.0)

    # A correction: the matte on screen goes in as the dense prompt with the clicks, as SAM 2's
    # demo does; a stroke becomes points along it.
    correcting = FramePrompts(base=mask)
    correcting.add_point(60.5, 40.5)
    eng.select(image, correcting)
    torch.testing.assert_close(seen[-1]["input_masks"], dense)
    assert np.array_equal(eng.select(image, FramePrompts(base=mask)), mask)  # nothing to do
    stroked = FramePrompts(strokes=[Stroke(np.array([[10, 10], [70, 10]], np.float32), False)])
    stroked.add_point(60.5, 40.5)
    eng.select(image, stroked)
    labels = seen[-1]["input_labels"].tolist()[0][0]
    assert labels[0] == 1 and len(labels) == 7 and set(labels[1:]) == {0}



def test_prepare_encodes_the_frame_a_click_then_uses(engines, source, monkeypatch):
    """prepare(image) runs the image encoder once; the click on that frame reuses it and gives
    the same matte as without it."""
    eng = engines["sam2"]
    net = eng.loaded.model
    image = source.image(1006).copy()
    click = FramePrompts()
    click.add_point(W / 3, H / 2)
    eng._embeddings.clear()
    cold = eng.select(image, click)
    eng._embeddings.clear()
    encodes = []
    real_embed = net.get_image_embeddings

    def embed(pixels):
        encodes.append(pixels.shape)
        return real_embed(pixels)

    monkeypatch.setattr(net, "get_image_embeddings", embed)
    eng.prepare(image)
    assert len(encodes) == 1
    assert np.array_equal(eng.select(image, click), cold)
    assert len(encodes) == 1  # the click found the frame encoded

def test_bfloat16_runs(tiny_checkpoints, source):
    """bf16 is the CUDA default; its casts are exercised here on the CPU."""
    loaded = load_model("sam2", str(tiny_checkpoints["sam2"]), device="cpu",
                        dtype=torch.bfloat16)
    eng = SamEngine("sam2", loaded=loaded)
    p = FramePrompts(box=(40.0, 20.0, 120.0, 70.0))
    assert eng.select(source.image(1001), p).dtype == np.float32
    frames = source.frames[:4]
    out = [r[:2] for r in eng.propagate(source, {1: {1001: _key(source, 1001)}}, frames)]
    assert [f for f, _ in out] == frames and all(np.isfinite(c[1]).all() for _, c in out)


# -- loading -------------------------------------------------------------------------------


def _one_line(err: InputError) -> str:
    text = str(err)
    assert "\n" not in text
    return text


def test_missing_or_wrong_weights_are_one_line_errors(tiny_checkpoints, tmp_path):
    with pytest.raises(InputError) as e:
        get_engine("sam2", str(tmp_path / "nowhere"), device="cpu")
    assert "no such folder" in _one_line(e.value) and "hf download" in str(e.value)

    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputError) as e:
        get_engine("sam2", str(empty), device="cpu")
    assert "config.json" in _one_line(e.value)

    no_weights = tmp_path / "no_weights"
    no_weights.mkdir()
    (no_weights / "config.json").write_text(
        (tiny_checkpoints["sam2"] / "config.json").read_text())
    with pytest.raises(InputError) as e:
        get_engine("sam2", str(no_weights), device="cpu")
    assert "weights" in _one_line(e.value) and str(no_weights) in str(e.value)

    with pytest.raises(InputError) as e:
        get_engine("edgetam", str(tiny_checkpoints["sam2"]), device="cpu")
    assert "--engine sam2" in _one_line(e.value)

    # A hub id not in the cache, offline: says where weights go.
    with pytest.raises(InputError) as e:
        get_engine("sam2", "facebook/sam2.1-hiera-tiny", device="cpu")
    msg = _one_line(e.value)
    assert "not in the local cache" in msg and "hf download facebook/sam2.1-hiera-tiny" in msg

    with pytest.raises(InputError, match="classic engine has no weights"):
        get_engine("classic", "x")
    with pytest.raises(InputError, match="--device"):
        get_engine("sam2", str(tiny_checkpoints["sam2"]), device="tpu")


def test_weights_round_trip_through_a_folder(tmp_path):
    """A checkpoint saved to a folder loads back bit for bit, and another seed's does not match
    (so the weights, not just the config, are what was loaded)."""
    from tiny_models import tiny_model

    saved = tiny_model("sam2", seed=5)
    saved.save_pretrained(tmp_path / "a")
    a = SamEngine("sam2", str(tmp_path / "a"), device="cpu")
    c = SamEngine("sam2", str(save_tiny("sam2", tmp_path / "c", seed=6)), device="cpu")
    ref = saved.state_dict()
    for name, value in a.loaded.model.state_dict().items():
        torch.testing.assert_close(value, ref[name], rtol=0, atol=0)
    assert any(not torch.equal(v, ref[k]) for k, v in c.loaded.model.state_dict().items())
    assert Path(a.loaded.source) == tmp_path / "a"


def test_compiled_image_encoder_gives_the_same_mattes(tiny_checkpoints, source):
    """--compile: torch.compile of the image encoder (Inductor; ~30 s to compile here) changes
    nothing but speed."""
    path = str(tiny_checkpoints["sam2"])
    eager = SamEngine("sam2", path, device="cpu")
    compiled = SamEngine("sam2", path, device="cpu", compile=True)
    assert type(compiled.loaded.model.vision_encoder).__name__ == "OptimizedModule"
    frames = source.frames[:3]
    keys = {1: {frames[0]: _key(source, frames[0])}}
    for (fa, a, _), (fb, b, _) in zip(eager.propagate(source, keys, frames),
                                compiled.propagate(source, keys, frames), strict=True):
        assert fa == fb
        np.testing.assert_allclose(a[1], b[1], atol=1e-4)


def test_max_keyframes_limits_the_keyframes_attended_to(tiny_checkpoints, source, monkeypatch):
    """Keyframes are pinned (never dropped), but each frame attends to the nearest
    `max_keyframes` of them: before, after, then the closest."""
    loaded = load_model("sam2", str(tiny_checkpoints["sam2"]), device="cpu")
    eng = SamEngine("sam2", loaded=loaded, params=SamParams(max_keyframes=2))
    net = loaded.model
    chosen: list[tuple[int, list[int], int]] = []
    real = net._select_closest_cond_frames

    def spy(frame_idx, cond_frame_outputs, max_cond_frame_num):
        picked, rest = real(frame_idx, cond_frame_outputs, max_cond_frame_num)
        chosen.append((frame_idx, sorted(picked), len(cond_frame_outputs)))
        return picked, rest

    monkeypatch.setattr(net, "_select_closest_cond_frames", spy)
    keys = {1: {f: _key(source, f) for f in (1001, 1004, 1008)}}
    list(eng.propagate(source, keys, source.frames))
    assert chosen and all(total == 3 and len(picked) == 2 for _, picked, total in chosen)
    pos = {f: i for i, f in enumerate(source.frames)}
    # Frame 1005 attends to the keyframes on either side of it, 1004 and 1008.
    assert (pos[1005], [pos[1004], pos[1008]], 3) in chosen


def test_track_confidence_is_the_object_score_times_how_decided_the_mask_is():
    """Computed on the logits' device without reading back (the GPU path copies it with the
    matte): the mean of |2p - 1| where p > 0.1, times the object's presence probability."""
    from mattetrack.engines.sam.engine import track_confidence

    logits = torch.randn(1, 1, 64, 64, generator=torch.Generator().manual_seed(3)) * 4
    p = torch.sigmoid(logits)
    decided = float((2 * p - 1).abs()[p > 0.1].mean())
    conf = track_confidence(logits, torch.tensor([[1.5]]))
    assert conf.shape == () and conf.dtype == torch.float32
    assert float(conf) == pytest.approx(float(torch.sigmoid(torch.tensor(1.5))) * decided,
                                        rel=1e-5)
    assert float(track_confidence(logits, None)) == pytest.approx(decided, rel=1e-5)
    # Plainly background everywhere: nothing undecided, so only the object score counts.
    empty = torch.full((1, 1, 8, 8), -20.0)
    assert float(track_confidence(empty, torch.tensor([[-2.0]]))) == pytest.approx(
        float(torch.sigmoid(torch.tensor(-2.0))))
