"""flowcodec: a kept flow reads back as the flow on the grid, bit for bit; anything else is a
ValueError."""

import numpy as np
import pytest

from mattetrack.flowcodec import FLOW_LIMIT, FLOW_STEPS, decode_flow, encode_flow, quantize_flow


def test_a_flow_on_the_grid_reads_back_exactly():
    rng = np.random.default_rng(11)
    flow = quantize_flow(rng.normal(0.0, 60.0, (29, 47, 2)).astype(np.float32))
    flow[0, 0] = (FLOW_LIMIT, -FLOW_LIMIT)  # the grid's ends fit
    flow[1, 1] = (1.0 / FLOW_STEPS, -1.0 / FLOW_STEPS)  # and its finest step
    back = decode_flow(encode_flow(flow))
    assert back.dtype == np.float32 and back.shape == flow.shape
    np.testing.assert_array_equal(back, flow)
    # Beyond the limit: clipped to it, as the engine's own flows are.
    far = decode_flow(encode_flow(np.full((2, 3, 2), 900.0, np.float32)))
    assert (far == FLOW_LIMIT).all()


@pytest.mark.parametrize("damage", [
    lambda b: b[:10],  # cut short in the header
    lambda b: b[:-50],  # cut short in the data
    lambda b: b"NOTAFLOW" + b[8:],  # not ours
    lambda b: b[:8] + (7).to_bytes(4, "little") + b[12:],  # the header lies about the size
    lambda b: b[:8] + (2**31).to_bytes(4, "little") * 2 + b[16:],  # a huge size: no allocation
    lambda b: b"MTFLOW1\0" + b[8:],  # an earlier version's (zlib) flow: recomputed
])
def test_a_damaged_or_foreign_file_is_a_value_error(damage):
    data = encode_flow(np.zeros((16, 16, 2), np.float32))
    with pytest.raises(ValueError):
        decode_flow(damage(data))
