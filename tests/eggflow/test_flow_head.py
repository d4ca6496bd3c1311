"""Flow-matching loss + 4-step Euler sampler on a known 1-D mixture; GR00T N1.5 sharded-checkpoint loading."""

import dataclasses

import pytest
import torch

from common.models import WeightLoadError
from eggflow.action_head import FlowmatchingActionHead
from eggflow.config import HeadConfig, default_groot_init
from eggflow.losses import egghand_loss
from tests.common.sharded_checkpoint import write_sharded

TINY = HeadConfig(backbone_embedding_dim=16, input_embedding_dim=32, hidden_size=32, num_layers=2,
                  num_attention_heads=2, vl_layers=1, vl_heads=2, max_state_dim=8, max_action_dim=4,
                  max_num_embodiments=4, embodiment_id=3, max_seq_len=8)


def test_flow_matching_learns_a_bimodal_mixture():
    torch.manual_seed(0)
    head = FlowmatchingActionHead(TINY, horizon=1, obs_len=1)
    state, vl = torch.zeros(128, 1, 138), torch.zeros(128, 2, 16)
    opt = torch.optim.Adam(head.parameters(), lr=3e-3)
    for _ in range(200):
        z = torch.zeros(128, 1, 4)
        z[:, 0, 0] = torch.where(torch.rand(128) < 0.3, -2.0, 2.0) + 0.1 * torch.randn(128)
        loss = head.latent_velocity_loss(z, state, vl)
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        samples = torch.cat([head.sample_latent(state, vl, torch.Generator().manual_seed(i))[:, 0]
                             for i in range(8)])
    x = samples[:, 0]
    near = torch.minimum((x + 2).abs(), (x - 2).abs())
    assert (near < 0.6).float().mean() > 0.8                     # mass sits on the two modes
    left = (x < 0).float().mean()
    assert 0.18 < left < 0.42                                    # mixture weight 0.3 recovered
    assert samples[:, 1:].abs().mean() < 0.3                     # the other dims collapse to 0


def groot_state_dict(cfg: HeadConfig, horizon_tokens: int = 32) -> dict[str, torch.Tensor]:
    """A state_dict written from GR00T N1.5's key names and shape rules (independent of our modules)."""
    g = torch.Generator().manual_seed(1)
    sd = {name: torch.randn(*shape, generator=g) for name, shape in groot_shapes(cfg, horizon_tokens).items()}
    sd["backbone.eagle_model.vision_model.embeddings.weight"] = torch.zeros(3)
    return sd


def groot_shapes(cfg: HeadConfig, horizon_tokens: int = 32) -> dict[str, tuple[int, ...]]:
    """GR00T N1.5 `action_head.*` tensor names and shapes (cross_attention_dit.py, flow_matching_action_head.py)."""
    d, h, bb, cat = cfg.input_embedding_dim, cfg.hidden_size, cfg.backbone_embedding_dim, cfg.max_num_embodiments
    sd = {}

    def put(name: str, *shape: int) -> None:
        sd[f"action_head.{name}"] = shape

    put("model.timestep_encoder.timestep_embedder.linear_1.weight", d, 256)
    put("model.timestep_encoder.timestep_embedder.linear_1.bias", d)
    put("model.timestep_encoder.timestep_embedder.linear_2.weight", d, d)
    put("model.timestep_encoder.timestep_embedder.linear_2.bias", d)
    for i in range(cfg.num_layers):
        p = f"model.transformer_blocks.{i}."
        kv_in = bb if i % 2 == 0 else d
        put(p + "norm1.linear.weight", 2 * d, d)
        put(p + "norm1.linear.bias", 2 * d)
        for n, fan_in in (("to_q", d), ("to_k", kv_in), ("to_v", kv_in)):
            put(p + f"attn1.{n}.weight", d, fan_in)
            put(p + f"attn1.{n}.bias", d)
        put(p + "attn1.to_out.0.weight", d, d)
        put(p + "attn1.to_out.0.bias", d)
        put(p + "ff.net.0.proj.weight", 4 * d, d)
        put(p + "ff.net.0.proj.bias", 4 * d)
        put(p + "ff.net.2.weight", d, 4 * d)
        put(p + "ff.net.2.bias", d)
    put("model.proj_out_1.weight", 2 * d, d)
    put("model.proj_out_1.bias", 2 * d)
    put("model.proj_out_2.weight", h, d)
    put("model.proj_out_2.bias", h)
    put("state_encoder.layer1.W", cat, cfg.max_state_dim, h)
    put("state_encoder.layer1.b", cat, h)
    put("state_encoder.layer2.W", cat, h, d)
    put("state_encoder.layer2.b", cat, d)
    put("action_encoder.W1.W", cat, cfg.max_action_dim, d)
    put("action_encoder.W1.b", cat, d)
    put("action_encoder.W2.W", cat, 2 * d, d)
    put("action_encoder.W2.b", cat, d)
    put("action_encoder.W3.W", cat, d, d)
    put("action_encoder.W3.b", cat, d)
    put("action_decoder.layer1.W", cat, h, h)
    put("action_decoder.layer1.b", cat, h)
    put("action_decoder.layer2.W", cat, h, cfg.max_action_dim)
    put("action_decoder.layer2.b", cat, cfg.max_action_dim)
    put("future_tokens.weight", horizon_tokens, d)
    put("position_embedding.weight", cfg.max_seq_len, d)
    put("vlln.weight", bb)
    put("vlln.bias", bb)
    for i in range(cfg.vl_layers):
        p = f"vl_self_attention.transformer_blocks.{i}."
        for n in ("norm1", "norm3"):
            put(p + f"{n}.weight", bb)
            put(p + f"{n}.bias", bb)
        for n in ("to_q", "to_k", "to_v", "to_out.0"):
            put(p + f"attn1.{n}.weight", bb, bb)
            put(p + f"attn1.{n}.bias", bb)
        put(p + "ff.net.0.proj.weight", 4 * bb, bb)
        put(p + "ff.net.0.proj.bias", 4 * bb)
        put(p + "ff.net.2.weight", bb, 4 * bb)
        put(p + "ff.net.2.bias", bb)
    return sd


@pytest.mark.parametrize("prefix", ["action_head.", "model.action_head."])
def test_groot_sharded_checkpoint_loads_fully(tmp_path, prefix):
    official = groot_state_dict(TINY)
    state = {prefix + k[len("action_head."):] if k.startswith("action_head.") else k: v for k, v in official.items()}
    write_sharded(tmp_path / "groot", state)
    head = FlowmatchingActionHead(TINY, horizon=3, obs_len=2)
    adapters_before = head.state_proj_in.weight.clone()
    init = dataclasses.replace(default_groot_init(), path=str(tmp_path / "groot"), prefix=prefix)
    report = init.load_into(head)
    own = head.state_dict()
    expected = {k[len("action_head."):] for k in official if k.startswith("action_head.")} - {"future_tokens.weight"}
    assert set(report.loaded) == expected and report.unexpected == ["future_tokens.weight"]
    assert set(report.missing) == {k for k in own if k.startswith(("state_proj_in", "action_proj_in",
                                                                   "action_proj_out"))}
    assert "position_embedding.weight" in report.loaded                       # max_seq_len matches the file
    for name in expected:
        torch.testing.assert_close(own[name], official[f"action_head.{name}"])
    torch.testing.assert_close(head.state_proj_in.weight, adapters_before)      # EggHand adapters kept


def test_groot_missing_tensor_fails_by_name(tmp_path):
    state = groot_state_dict(TINY)
    del state["action_head.model.transformer_blocks.1.attn1.to_q.weight"]
    write_sharded(tmp_path / "groot", state)
    init = dataclasses.replace(default_groot_init(), path=str(tmp_path / "groot"))
    with pytest.raises(WeightLoadError, match=r"model\.transformer_blocks\.1\.attn1\.to_q\.weight"):
        init.load_into(FlowmatchingActionHead(TINY, horizon=3, obs_len=2))


def test_cached_conditioning_equals_recomputing_every_step():
    """The sampler computes state tokens and VL keys/values once; recomputing them per Euler step (attention
    over the VL tokens themselves) gives the same samples."""
    torch.manual_seed(0)
    head = FlowmatchingActionHead(TINY, horizon=3, obs_len=2).eval()
    state, vl = torch.randn(5, 2, 138), torch.randn(5, 7, 16)
    cached = head.sample_latent(state, vl, torch.Generator().manual_seed(3))
    z = torch.randn(5, 3, TINY.max_action_dim, generator=torch.Generator().manual_seed(3))
    cat = torch.full((5,), TINY.embodiment_id)
    dit = head.model
    steps = TINY.num_inference_timesteps
    for k in range(steps):
        buckets = torch.full((5,), int(k / steps * TINY.num_timestep_buckets))
        state_tokens = head.state_encoder(head.state_proj_in(state), cat) + head.position_embedding.weight[3:5]
        action_tokens = head.action_encoder(z, buckets, cat) + head.position_embedding.weight[:3]
        tokens, temb = torch.cat([state_tokens, action_tokens], 1), dit.timestep_encoder(buckets)
        for i, block in enumerate(dit.transformer_blocks):
            tokens = block(tokens, vl if i % 2 == 0 else None, temb)
        shift, scale = dit.proj_out_1(torch.nn.functional.silu(temb)).chunk(2, dim=1)
        out = dit.proj_out_2(dit.norm_out(tokens) * (1 + scale[:, None]) + shift[:, None])
        z = z + head.action_decoder(out, cat)[:, -3:] / steps
    torch.testing.assert_close(cached, z, rtol=0, atol=1e-6)


def test_egghand_loss_terms_by_hand():
    gt = torch.zeros(1, 1, 42, 3)
    gt[0, 0, 1] = torch.tensor([0.1, 0.0, 0.0])
    pred = gt.clone()
    pred[0, 0, :21] += torch.tensor([0.0, 0.0, 0.2])       # right hand translated: only L_abs changes
    pred[0, 0, 22] = torch.tensor([0.0, 0.3, 0.0])         # left joint 1 moved from the left wrist
    valid = torch.ones(1, 1, 42, dtype=torch.bool)
    total, terms = egghand_loss(pred, gt, valid)
    assert abs(terms["loss_abs"] - (21 * 0.2 + 0.3) / 126) < 1e-6
    assert abs(terms["loss_rel"] - 0.3 / 120) < 1e-6
    # left joint 22 is 0.3 from its 20 hand mates (all at the origin in GT): 2*20 ordered pairs of 0.3^2
    assert abs(terms["loss_pair"] - 40 * 0.3 ** 2 / (2 * 21 * 21)) < 1e-6
    assert abs(float(total) - (0.6 * terms["loss_abs"] + 0.2 * terms["loss_rel"] + 0.2 * terms["loss_pair"])) < 1e-6
