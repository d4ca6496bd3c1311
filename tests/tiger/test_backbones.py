"""Backbones in their published key layouts load published-format files strictly through the shared loader.

The files are written from the publishers' documented naming schemes (torchvision's ResNet, the official
HRNet classification checkpoints, the PyTorch PointNet++ port's `model_state_dict`), not from our modules'
state_dict, so a renamed or reshaped module fails these tests.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
import torch

from common.models.loading import PretrainedInit, WeightLoadError
from tiger.config import TigerModelConfig
from tiger.model.backbones import ResNet
from tiger.model.hrnet import HRNet
from tiger.model.network import TigerNet
from tiger.model.pointnet2 import PointNet2Encoder

TINY_WIDTHS, TINY_LAYERS = [4, 8, 8, 16], [1, 2, 1, 1]


def _bn(prefix: str, c: int, gen: torch.Generator) -> dict[str, torch.Tensor]:
    return {f"{prefix}.weight": torch.rand(c, generator=gen), f"{prefix}.bias": torch.rand(c, generator=gen),
            f"{prefix}.running_mean": torch.rand(c, generator=gen),
            f"{prefix}.running_var": torch.rand(c, generator=gen) + 0.5,
            f"{prefix}.num_batches_tracked": torch.tensor(7)}


def torchvision_resnet50_state(widths: list[int], layers: list[int], classes: int = 10) -> dict[str, torch.Tensor]:
    """A ResNet-50-style (bottleneck, expansion 4) state dict named as torchvision.models.resnet50 names it."""
    gen = torch.Generator().manual_seed(0)
    state = {"conv1.weight": torch.randn(widths[0], 3, 7, 7, generator=gen), **_bn("bn1", widths[0], gen)}
    inplanes = widths[0]
    for i, (planes, count) in enumerate(zip(widths, layers), start=1):
        for b in range(count):
            p = f"layer{i}.{b}"
            cin = inplanes if b == 0 else planes * 4
            state[f"{p}.conv1.weight"] = torch.randn(planes, cin, 1, 1, generator=gen)
            state[f"{p}.conv2.weight"] = torch.randn(planes, planes, 3, 3, generator=gen)
            state[f"{p}.conv3.weight"] = torch.randn(planes * 4, planes, 1, 1, generator=gen)
            for k, c in ((1, planes), (2, planes), (3, planes * 4)):
                state.update(_bn(f"{p}.bn{k}", c, gen))
            if b == 0:
                state[f"{p}.downsample.0.weight"] = torch.randn(planes * 4, cin, 1, 1, generator=gen)
                state.update(_bn(f"{p}.downsample.1", planes * 4, gen))
        inplanes = planes * 4
    state["fc.weight"] = torch.randn(classes, inplanes, generator=gen)
    state["fc.bias"] = torch.randn(classes, generator=gen)
    return state


def test_torchvision_layout_resnet50_loads_strictly(tmp_path: Path) -> None:
    state = torchvision_resnet50_state(TINY_WIDTHS, TINY_LAYERS)
    path = tmp_path / "resnet50-tiny.pth"
    torch.save(state, path)
    model = ResNet(TINY_WIDTHS, TINY_LAYERS, True, PretrainedInit(str(path), allow_unexpected=["fc.*"]))
    own = model.state_dict()
    assert set(own) == set(state) - {"fc.weight", "fc.bias"}
    for name, tensor in own.items():
        torch.testing.assert_close(tensor, state[name])
    assert model(torch.randn(1, 3, 64, 64)).shape == (1, 64, 2, 2)
    with pytest.raises(WeightLoadError, match=r"fc\.weight"):        # the classifier is not silently dropped
        ResNet(TINY_WIDTHS, TINY_LAYERS, True, PretrainedInit(str(path)))


def test_real_resnet50_sizes_match_torchvision() -> None:
    model = ResNet([64, 128, 256, 512], [3, 4, 6, 3], True)
    reference = torchvision_resnet50_state([64, 128, 256, 512], [3, 4, 6, 3], classes=1000)
    shapes = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    assert shapes == {k: tuple(v.shape) for k, v in reference.items() if not k.startswith("fc.")}
    assert sum(p.numel() for p in model.parameters()) + 2048 * 1000 + 1000 == 25_557_032  # torchvision's count


def test_foreign_file_fails_naming_tensors(tmp_path: Path) -> None:
    state = torchvision_resnet50_state(TINY_WIDTHS, TINY_LAYERS)
    foreign = {k.replace("layer1.", "stages.0.").replace("conv1.weight", "stem.0.0.weight"): v
               for k, v in state.items()}
    torch.save(foreign, tmp_path / "foreign.pth")
    with pytest.raises(WeightLoadError, match=r"missing: .*conv1\.weight") as err:
        ResNet(TINY_WIDTHS, TINY_LAYERS, True, PretrainedInit(str(tmp_path / "foreign.pth")))
    assert "stem.0.0.weight" in str(err.value)
    torch.save(torchvision_resnet50_state([8, 8, 8, 16], TINY_LAYERS), tmp_path / "wider.pth")
    with pytest.raises(WeightLoadError, match=r"shape-mismatched: conv1\.weight"):
        ResNet(TINY_WIDTHS, TINY_LAYERS, True, PretrainedInit(str(tmp_path / "wider.pth"), allow_unexpected=["fc.*"]))


# Names and shapes of tensors in the official HRNet-W18 ImageNet checkpoint (hrnetv2_w18_imagenet_pretrained),
# from the architecture description: stem 64, stage-1 bottlenecks 64->256, branch widths 18/36/72/144.
HRNET_W18_KEYS = {
    "conv1.weight": (64, 3, 3, 3), "bn2.running_var": (64,), "layer1.0.downsample.0.weight": (256, 64, 1, 1),
    "layer1.3.conv3.weight": (256, 64, 1, 1), "transition1.0.0.weight": (18, 256, 3, 3),
    "transition1.1.0.0.weight": (36, 256, 3, 3), "transition2.2.0.0.weight": (72, 36, 3, 3),
    "transition3.3.0.0.weight": (144, 72, 3, 3), "transition3.3.0.1.running_mean": (144,),
    "stage2.0.branches.1.3.conv2.weight": (36, 36, 3, 3), "stage2.0.fuse_layers.0.1.0.weight": (18, 36, 1, 1),
    "stage2.0.fuse_layers.1.0.0.0.weight": (36, 18, 3, 3), "stage3.3.fuse_layers.2.0.1.0.weight": (72, 18, 3, 3),
    "stage4.2.fuse_layers.3.0.2.0.weight": (144, 18, 3, 3), "stage4.2.fuse_layers.3.0.0.1.weight": (18,),
    "stage4.2.fuse_layers.0.3.1.weight": (18,), "stage4.2.branches.3.3.bn2.bias": (144,)}


def test_hrnet_w18_has_the_official_key_layout(tmp_path: Path) -> None:
    model = HRNet(18, 64, 4, (1, 4, 3), (4, 4, 4))
    shapes = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    for name, shape in HRNET_W18_KEYS.items():
        assert shapes.get(name) == shape, name
    assert not any(k.startswith(("stage5", "transition4")) for k in shapes)
    head = {"incre_modules.0.0.conv1.weight": torch.zeros(32, 18, 1, 1), "classifier.weight": torch.zeros(5, 2048)}
    state = {**{k: torch.full(v.shape, 0.5) if v.is_floating_point() else v for k, v in
                model.state_dict().items()}, **head}
    torch.save(state, tmp_path / "hrnet.pth")
    allowed = ["incre_modules.*", "downsamp_modules.*", "final_layer.*", "classifier.*"]
    loaded = HRNet(18, 64, 4, (1, 4, 3), (4, 4, 4), PretrainedInit(str(tmp_path / "hrnet.pth"),
                                                                  allow_unexpected=allowed))
    assert float(loaded.stage4[2].fuse_layers[3][0][2][0].weight.detach().mean()) == 0.5
    branches, pooled = loaded.eval()(torch.randn(1, 3, 64, 64))
    assert [b.shape[1:] for b in branches] == [(18, 16, 16), (36, 8, 8), (72, 4, 4), (144, 2, 2)]
    assert pooled.shape == (1, 270)


def pointnet2_cls_ssg_checkpoint() -> dict:
    """A `pointnet2_cls_ssg` training checkpoint as the PyTorch port saves it ({'epoch', 'model_state_dict'})."""
    gen = torch.Generator().manual_seed(1)
    state: dict[str, torch.Tensor] = {}
    for level, widths in (("sa1", [3, 64, 64, 128]), ("sa2", [131, 128, 128, 256]), ("sa3", [259, 256, 512, 1024])):
        for i, (a, b) in enumerate(itertools.pairwise(widths)):
            state[f"{level}.mlp_convs.{i}.weight"] = torch.randn(b, a, 1, 1, generator=gen)
            state[f"{level}.mlp_convs.{i}.bias"] = torch.randn(b, generator=gen)
            state.update(_bn(f"{level}.mlp_bns.{i}", b, gen))
    state.update({"fc1.weight": torch.randn(512, 1024, generator=gen), **_bn("bn1", 512, gen),
                  "fc3.weight": torch.randn(40, 256, generator=gen)})
    return {"epoch": 200, "model_state_dict": state}


def test_pointnet2_ssg_checkpoint_loads_into_the_geometric_encoder(tmp_path: Path) -> None:
    ckpt = pointnet2_cls_ssg_checkpoint()
    torch.save(ckpt, tmp_path / "best_model.pth")
    init = PretrainedInit(str(tmp_path / "best_model.pth"), container_key="model_state_dict",
                          allow_unexpected=["sa3.*", "fc*", "bn*"])
    enc = PointNet2Encoder((32, 8), (0.4, 0.8), (16, 16), ([64, 64, 128], [128, 128, 256]), init)
    for name, tensor in enc.state_dict().items():
        torch.testing.assert_close(tensor, ckpt["model_state_dict"][name])
    centres, feats, _ = enc.sa1(torch.randn(2, 64, 3), None)
    assert centres.shape == (2, 32, 3) and feats.shape == (2, 32, 128)


def test_network_initialises_every_encoder_from_config(tmp_path: Path) -> None:
    torch.save(torchvision_resnet50_state([8, 16], [1, 1]), tmp_path / "resnet.pth")
    torch.save(pointnet2_cls_ssg_checkpoint(), tmp_path / "pn2.pth")
    resnet = PretrainedInit(str(tmp_path / "resnet.pth"), allow_unexpected=["fc.*"])
    cfg = TigerModelConfig(pose_widths=[8, 16], pose_layers=[1, 1], sa1=[64, 64, 128], sa2=[128, 128, 256],
                           hand_init=resnet, object_pose_init=resnet,
                           pointnet_init=PretrainedInit(str(tmp_path / "pn2.pth"), container_key="model_state_dict",
                                                        allow_unexpected=["sa3.*", "fc*", "bn*"]))
    model = TigerNet(cfg)
    assert len(model.init_encoders()) == 3
    state = torch.load(tmp_path / "resnet.pth")
    torch.testing.assert_close(model.hand_pose.encoder.layer2[0].conv3.weight, state["layer2.0.conv3.weight"])
    torch.testing.assert_close(model.object_pose.encoder.conv1.weight, state["conv1.weight"])
    bad = TigerModelConfig(hrnet_init=PretrainedInit(str(tmp_path / "resnet.pth")))
    with pytest.raises(WeightLoadError, match="HRNet"):
        TigerNet(bad).init_encoders()


def dgcnn_reference_state(emb_dims: int = 1024, classes: int = 40) -> dict[str, torch.Tensor]:
    """A DGCNN ModelNet40 state dict named as the reference `pytorch/model.py` under DataParallel (`module.`);
    each BatchNorm appears twice (bnK and convK.1), as the reference registers it twice."""
    gen = torch.Generator().manual_seed(2)
    state: dict[str, torch.Tensor] = {}
    for i, (cin, cout) in enumerate([(6, 64), (128, 64), (128, 128), (256, 256), (512, emb_dims)], start=1):
        shape = (cout, cin, 1, 1) if i < 5 else (cout, cin, 1)
        state[f"conv{i}.0.weight"] = torch.randn(*shape, generator=gen)
        bn = _bn(f"bn{i}", cout, gen)
        state |= bn | {k.replace(f"bn{i}.", f"conv{i}.1."): v for k, v in bn.items()}
    state |= {"linear1.weight": torch.randn(512, 2 * emb_dims, generator=gen), **_bn("bn6", 512, gen),
              "linear2.weight": torch.randn(256, 512, generator=gen), "linear2.bias": torch.randn(256, generator=gen),
              **_bn("bn7", 256, gen), "linear3.weight": torch.randn(classes, 256, generator=gen),
              "linear3.bias": torch.randn(classes, generator=gen)}
    return {f"module.{k}": v for k, v in state.items()}


def test_dgcnn_reference_checkpoint_loads_and_scores_prior_similarity(tmp_path: Path) -> None:
    import numpy as np

    from tiger.model.dgcnn import DGCNN
    from tiger.prior_quality import dgcnn_similarity, prior_similarity

    torch.save(dgcnn_reference_state(), tmp_path / "model.1024.t7")
    init = PretrainedInit(str(tmp_path / "model.1024.t7"), prefix="module.")
    model = DGCNN(pretrained=init)                                        # reference sizes: k=20, emb_dims=1024
    assert model.features(torch.randn(2, 50, 3)).shape == (2, 2048)
    rng = np.random.default_rng(0)
    box = rng.uniform(-1, 1, (600, 3)) * np.array([0.05, 0.03, 0.1])
    assert dgcnn_similarity(model, box, 3.0 * box + 1.0) > 0.9999         # frame- and scale-free
    with pytest.raises(WeightLoadError, match="module"):
        DGCNN(pretrained=PretrainedInit(str(tmp_path / "model.1024.t7")))
    sims = prior_similarity(PretrainedInit(str(tmp_path / "model.1024.t7"), prefix="module."), [box], [box],
                            ["cracker box"])
    assert set(sims) == {"prior_sim/boxes", "sphere_sim/boxes"} and sims["prior_sim/boxes"] > 0.9999
