"""``python -m pyg_mstgcn.train``: train MST-GCN, or evaluate a checkpoint (``--phase test``).

With no arguments it trains the small network of ``configs/train/synthetic.yaml`` on the
built-in synthetic dataset (generated into ``runs/synthetic_data`` the first time): a few
minutes on a CPU.
"""
from __future__ import annotations

import argparse
import sys
from typing import List, Optional

EPILOG = """\
configuration:
  A YAML file (--config) sets values over the defaults; --set KEY=VALUE overrides them (repeat
  it, or give several after one --set). KEY is a dotted path, VALUE is read as YAML:
    --set optim.lr=0.05 train.epochs=20 schedule.steps=[10,15] train.amp=bf16
    --set data.root=data/ntu60/xsub data.stream=bone output.name=ntu60-xsub-bone
  Sections: data (root, synthetic, train_split, val_split, stream, layout, stream_first,
  train_transforms, val_transforms, batch_size [global], val_batch_size, num_workers, debug),
  model (build_model options, or the path of configs/models/*.yaml), optim (lr, momentum,
  nesterov, weight_decay), schedule (name: multistep|cosine, warmup_epochs, steps, gamma,
  min_lr), train (epochs, seed, device, amp: null|bf16|fp16 [CUDA only], clip_grad_norm,
  label_smoothing, eval_interval, deterministic, threads), output (dir, name).
  An unknown key is an error naming it. The resolved configuration is written to
  RUN/config.yaml, where RUN is output.dir/output.name (default runs/CONFIG-DATE-TIME).

outputs (training): RUN/config.yaml, log.txt, TensorBoard events, last.pt (every epoch),
  best.pt, results.json.  --resume continues RUN/last.pt exactly (same weights as an
  uninterrupted run).
outputs (--phase test): RUN/metrics.json, per_class.csv, confusion.csv, confusion.png,
  scores.pkl (sample name -> logits, for python -m pyg_mstgcn.ensemble), labels.pkl.

distributed: torchrun --nproc_per_node=N -m pyg_mstgcn.train --config C.yaml
  (data.batch_size is the global batch, divisible by N; NCCL on CUDA, gloo on CPU; batch
  norm synchronised over the global batch on both; each step sees the samples of the same
  step of one process, and validation evaluates every sample exactly once).
"""


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog='python -m pyg_mstgcn.train', description=__doc__,
                                epilog=EPILOG,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--config', '-c', default=None,
                   help='YAML config (default: configs/train/synthetic.yaml)')
    p.add_argument('--set', '-s', dest='overrides', nargs='+', action='append', default=[],
                   metavar='KEY=VALUE', help='override config values (dotted keys, YAML values)')
    p.add_argument('--phase', choices=('train', 'test'), default='train',
                   help='train (default) or test: evaluate --weights on the validation split')
    p.add_argument('--weights', default=None,
                   help='--phase test: checkpoint (last.pt/best.pt, or a converted original '
                        "{'model_config', 'state_dict'}); its model_config is used if present")
    p.add_argument('--resume', nargs='?', const='auto', default=None, metavar='RUN',
                   help='continue from RUN/last.pt (RUN a run folder or a last.pt; without '
                        'a value: output.name, or the newest run of this config)')
    p.add_argument('--print-config', action='store_true',
                   help='print the resolved configuration and exit')
    return p


def main(argv: Optional[List[str]] = None) -> int:
    args = parser().parse_args(argv)
    from pyg_mstgcn.train.config import ConfigError, dump, resolve
    from pyg_mstgcn.train.loop import NonFiniteLoss, test, train
    overrides = [o for group in args.overrides for o in group]
    try:
        config = resolve(args.config, overrides)
        if args.print_config:
            print(dump(config), end='')
            return 0
        if args.phase == 'test':
            if args.weights is None:
                raise ConfigError('--phase test needs --weights W.pt')
            if args.resume:
                raise ConfigError('--resume is for training, not --phase test')
            test(config, args.weights)
        else:
            if args.weights is not None:
                raise ConfigError('--weights is for --phase test; to continue training use '
                                  '--resume')
            train(config, args.resume)
    except (ConfigError, FileNotFoundError) as e:
        print(f'error: {e}', file=sys.stderr)
        return 2
    except NonFiniteLoss as e:
        print(f'error: {e}', file=sys.stderr)
        return 3
    return 0
