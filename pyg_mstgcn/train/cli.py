"""``python -m pyg_mstgcn.train``: train MST-GCN, or evaluate a checkpoint (``--phase test``).

With no arguments it trains a small network on the built-in synthetic dataset (the recipe
``synthetic``, generated into runs/synthetic_data the first time): about a minute on a CPU.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import List, Optional

from pyg_mstgcn.config_files import config_dir, config_names, describe_config, load_yaml
from pyg_mstgcn.errors import ArgumentParser, InputError, report

#: The exit status of a preempted run (sysexits' EX_TEMPFAIL: try again, with --resume).
EX_TEMPFAIL = 75

EXAMPLES = """\
examples:
  python -m pyg_mstgcn.train                                  # the synthetic demo
  python -m pyg_mstgcn.train -c ntu60_xsub_joint --set data.root=data/ntu60/xsub
  python -m pyg_mstgcn.train -c my_recipe.yaml --set optim.lr=0.05 schedule.steps=[30,40]
  python -m pyg_mstgcn.train --resume runs/ntu60_xsub_joint   # continue a run
  python -m pyg_mstgcn.train --phase test -c runs/X/config.yaml --weights runs/X/best.pt
  torchrun --nproc_per_node=4 -m pyg_mstgcn.train -c ntu60_xsub_bone
  torchrun --nnodes=2 --nproc_per_node=4 --rdzv-backend=c10d --rdzv-endpoint=HOST:29400 \
      --rdzv-id=JOB --max-restarts=3 -m pyg_mstgcn.train -c ntu60_xsub_bone
  torchrun --nproc_per_node=4 -m pyg_mstgcn.train --phase test -c runs/X/config.yaml \
      --weights runs/X/best.pt                                  # evaluation in 4 processes
  python -m pyg_mstgcn.train -c ntu60_xsub_joint --set data.root=DIR --check-data

outputs (training): RUN/config.yaml (the resolved configuration), log.txt, TensorBoard
  events, last.pt (every epoch; also every train.checkpoint_every steps or minutes, e.g. 500
  or 30min, and on SIGTERM or SIGUSR1), best.pt, results.json; RUN is output.dir/output.name.
outputs (--phase test), in a folder of their own, RUN-test-DATE-TIME: metrics.json,
  per_class.csv, confusion.csv, confusion.png, per_class_accuracy.png, scores.pkl (sample
  name -> logits, for python -m pyg_mstgcn.ensemble), labels.pkl.
exit status: 0 done, 2 bad input (one line on stderr), 3 the loss became NaN or infinite,
  75 (EX_TEMPFAIL) preempted: SIGTERM or SIGUSR1 stopped the run after its step, last.pt
  written (--resume RUN continues at that step);
  --check-data: 0 no problem found, 1 problems found (listed on stdout).

distributed: under torchrun, data.batch_size is the global batch (divisible by the number of
  processes); NCCL on CUDA, gloo on CPU; batch norm over the global batch; each step sees
  the samples of the same step of one process; validation evaluates every sample once.
  Several nodes: one torchrun per node with --rdzv-backend=c10d. With --max-restarts a
  restarted group continues the run from its last checkpoint by itself (no --resume).
"""


def parser() -> argparse.ArgumentParser:
    from pyg_mstgcn.train.config import help_text
    p = ArgumentParser(prog='python -m pyg_mstgcn.train', description=__doc__,
                       epilog=EXAMPLES + '\n' + help_text(),
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--config', '-c', default=None, metavar='RECIPE',
                   help='a shipped recipe by name (--list-configs) or a YAML file '
                        '(default: synthetic)')
    p.add_argument('--set', '-s', dest='overrides', nargs='+', action='append', default=[],
                   metavar='KEY=VALUE', help='override config values (dotted keys, YAML values)')
    p.add_argument('--phase', choices=('train', 'test'), default='train',
                   help='train (default) or test: evaluate --weights on the validation split')
    p.add_argument('--weights', default=None, metavar='CKPT',
                   help='--phase test: checkpoint (last.pt/best.pt, or a converted original '
                        "{'model_config', 'state_dict'}); its model_config is used if present")
    p.add_argument('--resume', nargs='?', const='auto', default=None, metavar='RUN_DIR',
                   help="continue a run from RUN_DIR/last.pt with RUN_DIR/config.yaml (no -c "
                        "needed; --set overrides it and is logged). Without a value: the run "
                        "of -c's output.name, or its newest run")
    p.add_argument('--check-data', action='store_true',
                   help='read every sample of the training and validation splits and report '
                        'NaN/inf or all-zero samples, labels outside the classes and duplicate '
                        'names, then exit (no run folder)')
    p.add_argument('--out', default=None, metavar='FILE',
                   help='--check-data: also write the report as JSON to FILE')
    p.add_argument('--print-config', action='store_true',
                   help='print the resolved configuration and exit')
    p.add_argument('--list-configs', action='store_true',
                   help='list the shipped recipes and model configurations and exit')
    return p


def list_configs() -> str:
    """The shipped recipes and model configurations, each with its description."""
    lines = [f'recipes (-c NAME; in {config_dir() / "train"}):']
    for kind, header in (('train', None), ('models', 'models (model: NAME, or '
                                                       "pyg_mstgcn.models.build_model('NAME')):")):
        if header:
            lines.append(header)
        names = config_names(kind)
        width = max(map(len, names))
        lines += [f'  {name:<{width}}  {describe_config(config_dir() / kind / (name + ".yaml"))}'
                  for name in names]
    return '\n'.join(lines)


def resolve_resume(args: argparse.Namespace, overrides: List[str]):
    """The configuration and run folder of ``--resume``: the run's saved ``config.yaml`` with
    the overrides on top (each change is logged)."""
    from pyg_mstgcn.train.config import differences, resolve
    from pyg_mstgcn.train.runtime import find_resume
    if args.resume == 'auto':
        run_dir = find_resume(resolve(args.config, overrides), 'auto')
    else:
        run_dir = find_resume({}, args.resume)
    saved = load_yaml(run_dir / 'config.yaml')
    saved['_config_file'] = str(run_dir / 'config.yaml')
    config = resolve(base=saved, overrides=overrides)
    changes = differences(resolve(base=saved), config)
    return config, run_dir, changes


def main(argv: Optional[List[str]] = None) -> int:
    args = parser().parse_args(argv)
    overrides = [o for group in args.overrides for o in group]
    if args.list_configs:
        print(list_configs())
        return 0
    from pyg_mstgcn.train.config import ConfigError, dump, resolve
    from pyg_mstgcn.train.evaluation import test
    from pyg_mstgcn.train.loop import NonFiniteLoss, Preempted, train
    try:
        if args.phase == 'test':
            if args.weights is None:
                raise ConfigError('--phase test needs --weights CKPT (a best.pt or last.pt)')
            if args.resume:
                raise ConfigError('--resume is for training, not --phase test')
        elif args.weights is not None:
            raise ConfigError('--weights is for --phase test; to continue training use '
                              '--resume RUN_DIR')
        if args.check_data and (args.phase == 'test' or args.weights is not None):
            raise ConfigError('--check-data checks the data of a configuration; drop '
                              '--phase test and --weights')
        if args.out is not None and not args.check_data:
            raise ConfigError('--out is for --check-data (the JSON report)')
        if args.weights is not None and not Path(args.weights).is_file():
            raise ConfigError(f'--weights {args.weights}: no such file')
        run_dir, changes = None, []
        if args.resume:
            config, run_dir, changes = resolve_resume(args, overrides)
        else:
            config = resolve(args.config, overrides)
        if args.print_config:
            print(dump(config), end='')
            return 0
        if args.check_data:
            from pyg_mstgcn.train.check_data import check_data
            return check_data(config, args.out)
        for key, before, after in changes:
            print(f'override on resume: {key} {before!r} -> {after!r}')
        if args.phase == 'test':
            test(config, args.weights)
        else:
            train(config, run_dir)
    except InputError as e:
        return report(e)
    except NonFiniteLoss as e:
        return report(e, 3)
    except Preempted:   # the trainer logged what happened and how to continue
        return EX_TEMPFAIL
    except KeyboardInterrupt:
        return report('interrupted; a run with a last.pt continues with --resume RUN_DIR', 130)
    return 0


if __name__ == '__main__':
    sys.exit(main())
