"""The MSTGCN network: parameter counts of the original, the default NTU network, forward on
PyG batches, dense vs sparse gradients, the factory, argument and input checks, and the
configuration round trip."""
import pytest
import torch
import torch.nn.functional as F
import yaml
from torch_geometric.data import Batch
from torch_geometric.loader import DataLoader

from conftest import shared_path
from pyg_mstgcn.data import skeleton_graph
from pyg_mstgcn.graph import SkeletonLayout, get_layout
from pyg_mstgcn.models import DEFAULT_BLOCKS, MSTGCN, build_model, model_options
from pyg_mstgcn.nn import (BlockOptions, MultiScaleGraphLayer, MultiScaleTemporalLayer,
                           PlainGraphLayer, PlainTemporalLayer, SpatialGraphConv)

SMALL_BLOCKS = [[3, 16, False, 1], [16, 16, True, 1], [16, 32, True, 2]]
DATASETS = {'ntu60': (60, 'ntu-rgb+d'), 'ntu120': (120, 'ntu-rgb+d'),
            'kinetics': (400, 'openpose')}
V = 25


def num_params(model):
    return sum(p.numel() for p in model.parameters())


def graphs(num, T=8, M=2, C=3, layout='ntu', seed=0):
    gen = torch.Generator().manual_seed(seed)
    nv = 25 if layout == 'ntu' else 18
    return [skeleton_graph(torch.randn(C, T, nv, M, generator=gen), layout, y=i % 5)
            for i in range(num)]


def test_param_counts_match_the_original():
    """For every row of param_counts.tsv, MSTGCN has exactly the original's used_params."""
    path = shared_path('reference', 'param_counts.tsv')
    lines = [ln for ln in path.read_text().splitlines() if ln.strip() and not ln.startswith('#')]
    header = lines[0].split('\t')
    rows = [dict(zip(header, ln.split('\t'))) for ln in lines[1:]]
    assert len(rows) >= 16
    assert {'dataset', 'block_type', 'layer_type', 'atten', 'used_params'} <= set(header)
    seen = {}
    for row in rows:
        num_classes, layout = DATASETS[row['dataset']]
        model = MSTGCN(num_classes, layout=layout, block_type=row['block_type'],
                       layer_type=row['layer_type'],
                       attention=None if row['atten'] == 'None' else row['atten'])
        key = (row['dataset'], row['block_type'], row['layer_type'], row['atten'])
        seen[key] = (num_params(model), int(row['used_params']))
    wrong = {k: v for k, v in seen.items() if v[0] != v[1]}
    assert not wrong, f'(ours, original) differ for {wrong}'
    assert seen[('ntu60', 'ms', 'basic', 'None')] == (2_891_351, 2_891_351)


def test_skeleton_adjacency_parameter_count():
    """adjacency='skeleton' saves 3 * (625 - 73) entries per graph convolution."""
    full = MSTGCN(60, blocks=SMALL_BLOCKS, kernel_size=3)
    skel = MSTGCN(60, blocks=SMALL_BLOCKS, kernel_size=3, adjacency='skeleton')
    convs = [m for m in full.modules() if isinstance(m, SpatialGraphConv)]
    assert len(convs) == 1 + 4 + 4  # plain first block, then 4 scales per MS-GC
    assert num_params(full) - num_params(skel) == len(convs) * 3 * (V * V - 73)


def test_default_model_is_the_original_ntu_network():
    """The defaults build the original's 10-block NTU network (112/224/448 channels, strides
    at blocks 4 and 7, plain first block, MS-GC / MT-GC after it)."""
    model = MSTGCN(60)
    assert len(model.blocks) == 10 == len(DEFAULT_BLOCKS)
    widths = [(b.spatial.in_channels, b.spatial.out_channels) for b in model.blocks]
    assert widths == [(3, 112), (112, 112), (112, 112), (112, 112), (112, 224), (224, 224),
                      (224, 224), (224, 448), (448, 448), (448, 448)]
    assert isinstance(model.blocks[0].spatial, PlainGraphLayer)
    assert isinstance(model.blocks[0].temporal, PlainTemporalLayer)
    assert all(isinstance(b.spatial, MultiScaleGraphLayer) for b in model.blocks[1:])
    assert all(isinstance(b.temporal, MultiScaleTemporalLayer) for b in model.blocks[1:])
    strided = [i for i, b in enumerate(model.blocks) if b.temporal.residual.__class__.__name__
               == 'ConvBN']
    assert strided == [4, 7]
    assert all(b.attention is None for b in model.blocks)
    assert model.data_bn.num_features == 2 * V * 3
    assert model.fc.in_features == 448 and model.fc.out_features == 60
    assert model.out_channels == 448
    assert str(model) == ('MSTGCN(num_classes=60, layout=ntu-rgb+d, blocks=10, backend=dense, '
                          'adjacency=full)')
    # the first block never takes attention; the others do
    with_attention = MSTGCN(60, attention='stcja')
    assert with_attention.blocks[0].attention is None
    assert all(b.attention.kind == 'stcja' for b in with_attention.blocks[1:])
    # other input widths replace the first row's C_in
    assert MSTGCN(60, in_channels=6).blocks[0].spatial.in_channels == 6


def test_default_model_forward_features(device):
    """One sequence of 8 frames through the default network: [50, 448, 2] features."""
    torch.manual_seed(0)
    model = MSTGCN(60).to(device).eval()
    data = graphs(1, T=8)[0].to(device)
    with torch.no_grad():
        features = model.forward_features(data)
        logits = model(data)
    assert features.shape == (2 * V, 448, 2)
    assert logits.shape == (1, 60)
    assert torch.allclose(logits, model.fc(features.mean(2).view(1, 2 * V, 448).mean(1)),
                          atol=1e-5)


@pytest.mark.parametrize('backend', ['dense', 'sparse'])
def test_logits_from_dataloader(backend):
    """model(batch) gives [num_graphs, num_classes] logits for PyG DataLoader batches; each
    graph's logits do not depend on the others in eval mode."""
    torch.manual_seed(0)
    model = MSTGCN(11, blocks=SMALL_BLOCKS, kernel_size=3, backend=backend).eval()
    data_list = graphs(5, T=8)
    loader = DataLoader(data_list, batch_size=2)
    outputs = []
    with torch.no_grad():
        for batch in loader:
            logits = model(batch)
            assert logits.shape == (batch.num_graphs, 11)
            features = model.forward_features(batch)
            assert features.shape == (batch.num_graphs * 2 * V, 32, 4)
            outputs.append(logits)
        alone = model(Batch.from_data_list([data_list[3]]))
    assert [o.size(0) for o in outputs] == [2, 2, 1]
    assert torch.allclose(outputs[1][1], alone[0], atol=1e-5)
    assert not torch.allclose(outputs[1][0], outputs[1][1])


def test_absent_person_and_kinetics_layout():
    """An OpenPose (Kinetics) model runs on 18-joint graphs, absent persons being zeros."""
    torch.manual_seed(0)
    model = MSTGCN(400, layout='kinetics', blocks=SMALL_BLOCKS, kernel_size=3).eval()
    data_list = graphs(2, T=6, layout='openpose')
    data_list[1].x[18:] = 0
    with torch.no_grad():
        logits = model(Batch.from_data_list(data_list))
    assert logits.shape == (2, 400) and torch.isfinite(logits).all()


def _randomize_adjacency(model, seed):
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, SpatialGraphConv):
                B = module.adjacency.B
                B.add_(torch.randn(B.shape, generator=gen, dtype=B.dtype) * 0.1)


@pytest.mark.parametrize('adjacency', ['full', 'skeleton'])
def test_dense_and_sparse_gradients_agree(adjacency, device):
    """In train mode (float64) the two backends give the same logits and the same gradient
    for every parameter of the model."""
    torch.manual_seed(0)
    kwargs = dict(blocks=SMALL_BLOCKS, kernel_size=3, attention='stcja', adjacency=adjacency)
    dense = MSTGCN(5, backend='dense', **kwargs).double().train()
    _randomize_adjacency(dense, seed=1)
    dense.to(device)
    sparse = MSTGCN(5, backend='sparse', **kwargs).double().to(device).train()
    sparse.load_state_dict(dense.state_dict())
    batch = Batch.from_data_list(graphs(3, T=8)).to(device)
    batch.x = batch.x.double()
    logits = []
    for model in (dense, sparse):
        out = model(batch)
        F.cross_entropy(out, batch.y).backward()
        logits.append(out.detach())
    assert torch.allclose(logits[0], logits[1], atol=1e-9)
    sparse_params = dict(sparse.named_parameters())
    compared = 0
    for name, param in dense.named_parameters():
        other = sparse_params[name]
        assert param.grad is not None and other.grad is not None, name
        assert torch.allclose(param.grad, other.grad, atol=1e-9, rtol=1e-6), \
            (name, (param.grad - other.grad).abs().max())
        compared += 1
    assert compared == len(sparse_params) > 50
    assert any(name.endswith('adjacency.B') and p.grad.abs().sum() > 0
               for name, p in dense.named_parameters())


def test_sparse_model_accepts_unsorted_edges(device):
    """adjacency='skeleton' with the sparse backend reads the batch's edges; shuffled edges
    (with their templates) give the same logits as sorted ones."""
    torch.manual_seed(0)
    model = MSTGCN(5, blocks=SMALL_BLOCKS, kernel_size=3, adjacency='skeleton',
                   backend='sparse').double().to(device).eval()
    batch = Batch.from_data_list(graphs(2, T=6)).to(device)
    batch.x = batch.x.double()
    with torch.no_grad():
        expected = model(batch)
        perm = torch.randperm(batch.edge_index.size(1), device=device)
        batch.edge_index = batch.edge_index[:, perm]
        batch.edge_template = batch.edge_template[perm]
        assert torch.allclose(model(batch), expected, atol=1e-10)


def test_build_model():
    """build_model turns a mapping into MSTGCN; unknown keys are named with the valid ones,
    a missing num_classes is named."""
    options = model_options()
    assert 'num_classes' in options and options['block_type'] == 'ms'
    model = build_model({'num_classes': 7, 'blocks': SMALL_BLOCKS, 'attention': 'ca'})
    assert isinstance(model, MSTGCN) and model.num_classes == 7
    assert num_params(model) == num_params(MSTGCN(7, blocks=SMALL_BLOCKS, attention='ca'))
    with pytest.raises(ValueError, match="unknown options 'num_class' \\(did you mean "
                                         "'num_classes'\\?\\), 'atten' \\(did you mean "
                                         "'attention'\\?\\); valid options: num_classes, "
                                         "layout, in_channels") as info:
        build_model({'num_class': 7, 'atten': 'ca'})
    for name in ('block_type', 'attention', 'backend', 'adjacency'):
        assert name in str(info.value)
    with pytest.raises(ValueError, match='missing model option\\(s\\): num_classes'):
        build_model({'blocks': SMALL_BLOCKS})


def test_model_option_errors():
    """Bad block rows and option names are refused when the model is built."""
    with pytest.raises(ValueError, match=r'block row 1 must be \[C_in, C_out, residual, '
                                         r'stride\]'):
        MSTGCN(5, blocks=[[3, 16, False, 1], [16, 16, True]])
    with pytest.raises(ValueError, match='the first block takes 3 channels but in_channels '
                                         'is 2'):
        MSTGCN(5, in_channels=2, blocks=SMALL_BLOCKS)
    with pytest.raises(ValueError, match='block 2 takes 8 channels but block 1 gives 16'):
        MSTGCN(5, blocks=[[3, 16, False, 1], [16, 16, True, 1], [8, 32, True, 2]])
    with pytest.raises(ValueError, match=r"block_type must be one of .* \(got 'resnet'\)"):
        MSTGCN(5, blocks=SMALL_BLOCKS, block_type='resnet')
    with pytest.raises(ValueError, match=r"backend must be one of 'dense', 'sparse' "
                                         r"\(got 'gpu'\)"):
        MSTGCN(5, blocks=SMALL_BLOCKS, backend='gpu')
    with pytest.raises(ValueError, match='unknown skeleton layout'):
        MSTGCN(5, layout='smpl')


BAD_MODEL_ARGS = [
    (dict(num_classes=-3), r'num_classes must be a positive integer \(got -3\)'),
    (dict(num_classes=2.5), r'num_classes must be a positive integer \(got 2.5\)'),
    (dict(num_classes=5, in_channels=0), r'in_channels must be a positive integer \(got 0\)'),
    (dict(num_classes=5, num_person=True),
     r'num_person must be a positive integer \(got True\)'),
    (dict(num_classes=5, blocks=[]), r'blocks must be a non-empty list of rows \[C_in, C_out, '
                                     r'residual, stride\] \(got \[\]\)'),
    (dict(num_classes=5, blocks=[[3, 16, 0, 1]]),
     r'block row 0: residual must be true or false \(got 0\)'),
    (dict(num_classes=5, blocks=[[3, 16, False, 1], [16, -16, True, 1]]),
     r'block row 1: C_out must be a positive integer \(got -16\)'),
    (dict(num_classes=5, blocks=[[3, 16, False, 1.5]]),
     r'block row 0: stride must be a positive integer \(got 1.5\)'),
    (dict(num_classes=5, kernel_size=4), r'kernel_size must be a positive odd integer '
                                         r'\(got 4\)'),
    (dict(num_classes=5, attention='pa', parts=[[0, 1]]),
     r"layout 'ntu-rgb\+d': body parts must list every joint exactly once"),
]


@pytest.mark.parametrize('kwargs,message', BAD_MODEL_ARGS,
                         ids=[m.split(' ')[0] for _, m in BAD_MODEL_ARGS])
def test_model_argument_errors(kwargs, message):
    """The model's own arguments and its block options are checked before anything is built,
    each with a one-line error that names the argument, what it accepts and the value got."""
    with pytest.raises(ValueError, match=message) as info:
        MSTGCN(**kwargs)
    assert '\n' not in str(info.value)


def test_unknown_model_options_suggest_the_closest():
    """A misspelt option is named with a suggestion among every argument of the model."""
    with pytest.raises(ValueError, match=r"^MSTGCN: unknown option 'atention' \(did you mean "
                                         r"'attention'\?\); valid options: num_classes, "
                                         r"layout, in_channels, num_person, blocks, "
                                         r"block_type, "):
        MSTGCN(5, atention='ca')
    with pytest.raises(ValueError, match=r"unknown option 'blcoks' \(did you mean "
                                         r"'blocks'\?\)"):
        MSTGCN(5, blcoks=SMALL_BLOCKS)


CUSTOM_LAYOUT = SkeletonLayout.from_edges([(0, 1), (1, 2), (1, 3), (3, 4)], center=1,
                                          name='tiny', parts=[[0, 1], [2], [3, 4]])
CONFIG_CASES = {
    'default': dict(num_classes=60),
    'stcja': dict(num_classes=60, attention='stcja'),
    'openpose-parts': dict(num_classes=400, layout='kinetics', attention='pa',
                           parts=[[0, 1, 14, 15, 16, 17], [2, 3, 4, 5, 6, 7],
                                  [8, 9, 10, 11, 12, 13]], blocks=SMALL_BLOCKS, kernel_size=3),
    'sparse': dict(num_classes=5, blocks=SMALL_BLOCKS, backend='sparse', adjacency='skeleton',
                   act='hswish'),
    'bottle': dict(num_classes=5, in_channels=2, num_person=1, block_type='bottle',
                   blocks=[[2, 16, False, 1], [16, 16, True, 1], [16, 32, True, 2]]),
    'custom-layout': dict(num_classes=3, layout=CUSTOM_LAYOUT, blocks=SMALL_BLOCKS,
                          attention='pa', block_type='sep', expand_ratio=2),
}


@pytest.mark.parametrize('name', list(CONFIG_CASES))
def test_config_rebuilds_the_network(name):
    """model.config() gives every constructor argument (plain values for built-in layouts);
    MSTGCN(**config) has the same state-dict keys and shapes and the same config."""
    kwargs = CONFIG_CASES[name]
    model = MSTGCN(**kwargs)
    config = model.config()
    assert list(config) == ['num_classes', 'layout', 'in_channels', 'num_person', 'blocks',
                            *BlockOptions.names()]
    assert model.options == BlockOptions(**{k: v for k, v in kwargs.items()
                                            if k in BlockOptions.names()})
    for key, value in kwargs.items():
        if key != 'layout':
            assert config[key] == value, key
    if isinstance(kwargs.get('layout', 'ntu'), str):
        assert config['layout'] == get_layout(kwargs.get('layout', 'ntu')).name
        assert yaml.safe_load(yaml.safe_dump(config)) == config  # plain values only
    else:
        assert config['layout'] is kwargs['layout']
    again = MSTGCN(**config)
    shapes = {k: v.shape for k, v in model.state_dict().items()}
    assert {k: v.shape for k, v in again.state_dict().items()} == shapes
    assert again.config() == config


def test_bad_input_is_refused():
    """Wrong channel counts and node counts that are not num_person * V per graph are refused
    before any computation."""
    model = MSTGCN(5, blocks=SMALL_BLOCKS, kernel_size=3)
    with pytest.raises(ValueError, match=r'MSTGCN: expected node features of shape '
                                         r'\[num_graphs \* 2 persons \* 25 joints, 3 channels, '
                                         r'num_frames\] \(got \[100, 2, 8\]\)'):
        model(Batch.from_data_list(graphs(2, C=2)))
    # three one-person graphs: 75 nodes are not a multiple of 2 * 25
    with pytest.raises(ValueError, match=r'\(got \[75, 3, 8\]\)'):
        model(Batch.from_data_list(graphs(3, M=1)))
    # two one-person graphs: 50 nodes would pass as one two-person graph
    with pytest.raises(ValueError, match='the batch holds 2 graphs but its 50 nodes make 1 '
                                         'graphs of 2 persons'):
        model(Batch.from_data_list(graphs(2, M=1)))
    # 18-joint graphs for a 25-joint model
    with pytest.raises(ValueError, match=r'\(got \[72, 3, 8\]\)'):
        model(Batch.from_data_list(graphs(2, layout='openpose')))
