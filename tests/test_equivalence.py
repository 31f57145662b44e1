"""Our MSTGCN against the independent dense reference of the original network: original
weights converted by `load_original` must give the same logits, for every block type x layer
type x attention, on the NTU and Kinetics layouts, for both backends and adjacency modes.

The comparisons run in float64: with random weights some attentions (``fa`` has no squashing)
blow the logits up to 1e6, where float32 rounding alone exceeds 1e-4."""
import itertools

import pytest
import torch

from original_reference import OriginalMSTGCN, randomize_
from pyg_mstgcn.convert import load_original
from pyg_mstgcn.data import from_dense

SMALL_BLOCKS = [[3, 16, False, 1], [16, 16, True, 1], [16, 32, True, 2], [32, 32, True, 1]]
GRAPHS = {'ntu': ('graph.ntu_rgb_d.Graph', 25), 'kinetics': ('graph.kinetics.Graph', 18)}
BLOCK_TYPES = ['basic', 'bottle', 'sep', 'ms', 'ms_bottle']
LAYER_TYPES = ['basic', 'sep']
ATTENTIONS = ['None', 'stcja', 'stja', 'ca', 'fa', 'ja', 'pa']


def model_args(dataset, block_type, layer_type, atten, **extra):
    graph, num_point = GRAPHS[dataset]
    return dict(num_class=7, num_point=num_point, num_person=2, block_args=SMALL_BLOCKS,
                graph=graph, graph_args={'labeling_mode': 'spatial'}, kernel_size=5,
                block_type=block_type, layer_type=layer_type, atten=atten, s_scale=4,
                t_scale=4, reduct_ratio=2, expand_ratio=0, act='relu', bias=True, **extra)


def mask_to_skeleton(reference):
    """Zero every PA entry off the skeleton, so that adjacency='skeleton' applies."""
    with torch.no_grad():
        for name, param in reference.named_parameters():
            if name.endswith('PA'):
                A = reference.state_dict()[name[:-2] + 'A']
                param.mul_((A.abs().sum(0) != 0).to(param.dtype))


@pytest.mark.parametrize('dataset', list(GRAPHS))
@pytest.mark.parametrize('block_type,layer_type',
                         list(itertools.product(BLOCK_TYPES, LAYER_TYPES)))
def test_converted_weights_give_original_logits(dataset, block_type, layer_type):
    torch.manual_seed(0)
    V = GRAPHS[dataset][1]
    x = torch.randn(2, 3, 12, V, 2, dtype=torch.float64)
    x[1, :, :, :, 1] = 0  # second person absent in the second sequence
    batch = from_dense(x, {'ntu': 'ntu-rgb+d', 'kinetics': 'openpose'}[dataset])
    for i, atten in enumerate(ATTENTIONS):
        args = model_args(dataset, block_type, layer_type, atten)
        reference = randomize_(OriginalMSTGCN(**args), seed=i).double().eval()
        for adjacency in ('full', 'skeleton'):
            if adjacency == 'skeleton':
                mask_to_skeleton(reference)
            with torch.no_grad():
                expected = reference(x)[1]
            state = reference.state_dict()
            for backend in ('dense', 'sparse'):
                model = load_original(state, args, backend=backend,
                                      adjacency=adjacency).double()
                with torch.no_grad():
                    logits = model(batch)
                assert logits.shape == (2, 7)
                torch.testing.assert_close(logits, expected, rtol=0, atol=1e-4,
                                           msg=f'{atten} {adjacency} {backend}')


def test_module_prefix_and_features():
    args = model_args('ntu', 'ms', 'basic', 'stcja')
    reference = randomize_(OriginalMSTGCN(**args), seed=3).double().eval()
    state = {f'module.{k}': v for k, v in reference.state_dict().items()}
    model = load_original(state, args).double()
    assert not model.training
    x = torch.randn(3, 3, 8, 25, 2, dtype=torch.float64)
    with torch.no_grad():
        features, logits = reference(x)
        ours = model.forward_features(from_dense(x, 'ntu-rgb+d'))
    # our node features [N*M*V, C, T'] are the original's [N*M, C, T', V]
    torch.testing.assert_close(ours.view(6, 25, 32, 4).permute(0, 2, 3, 1), features,
                               rtol=0, atol=1e-4)
    torch.testing.assert_close(model.fc(model.pool(ours)), logits, rtol=0, atol=1e-4)


def test_skeleton_mode_refuses_dense_learned_adjacency():
    args = model_args('ntu', 'ms', 'basic', 'None')
    reference = randomize_(OriginalMSTGCN(**args), seed=0)
    with pytest.raises(ValueError, match="adjacency='full'"):
        load_original(reference.state_dict(), args, adjacency='skeleton')


def test_unknown_and_missing_keys_are_named():
    args = model_args('ntu', 'ms', 'basic', 'None')
    state = dict(OriginalMSTGCN(**args).state_dict())
    state['layers.1.msgcn.extra.weight'] = torch.zeros(1)
    del state['layers.2.mstcn.conv_bn.0.0.weight']
    with pytest.raises(KeyError) as info:
        load_original(state, args)
    message = str(info.value)
    assert 'layers.1.msgcn.extra.weight' in message
    assert 'blocks.2.temporal.scales.0.0.weight' in message


def test_wrong_graph_is_reported():
    args = model_args('ntu', 'basic', 'basic', 'None')
    state = dict(OriginalMSTGCN(**args).state_dict())
    state['layers.1.msgcn.conv.A'] = torch.zeros(3, 25, 25)
    with pytest.raises(KeyError, match='graph differs'):
        load_original(state, args)


def test_fresh_weights_and_bad_model_args():
    args = model_args('kinetics', 'ms', 'basic', 'None')
    model = load_original(None, args, backend='sparse')
    assert model.backend == 'sparse' and not model.training
    with pytest.raises(ValueError, match='unknown key'):
        load_original(None, {**args, 'colour': 'red'})
    with pytest.raises(ValueError, match='unsupported graph'):
        load_original(None, {**args, 'graph': 'graph.ucla.Graph'})


def calibrate_batch_norms(model, x):
    """Sets every running statistic to the batch statistics of x, as training would, so that
    eval-mode activations (and logits) have a realistic scale."""
    for module in model.modules():
        if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
            module.reset_running_stats()
            module.momentum = None  # cumulative average
    model.train()
    with torch.no_grad():
        model(x)
    return model.eval()


@pytest.mark.parametrize('backend', ['dense', 'sparse'])
def test_canonical_network_in_float32(backend):
    """The paper's NTU network (112/224/448 channels, stcja) in float32."""
    blocks = [[3, 112, False, 1], [112, 112, True, 1], [112, 112, True, 1],
              [112, 112, True, 1], [112, 224, True, 2], [224, 224, True, 1],
              [224, 224, True, 1], [224, 448, True, 2], [448, 448, True, 1],
              [448, 448, True, 1]]
    args = {**model_args('ntu', 'ms', 'basic', 'stcja'), 'block_args': blocks,
            'kernel_size': 9, 'num_class': 60}
    torch.manual_seed(0)
    x = torch.randn(4, 3, 16, 25, 2)
    reference = calibrate_batch_norms(randomize_(OriginalMSTGCN(**args), seed=11), x)
    with torch.no_grad():
        expected = reference(x)[1]
        logits = load_original(reference.state_dict(), args, backend=backend)(
            from_dense(x, 'ntu-rgb+d'))
    assert expected.abs().max() > 0.1
    torch.testing.assert_close(logits, expected, rtol=0, atol=1e-4)
