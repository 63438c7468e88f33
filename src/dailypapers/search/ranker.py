"""The learned ranker: a LightGBM model, read from its text file and evaluated with numpy.

The model is trained by `bench/train_ranker.py` (lambdarank over the features of the hybrid
candidates, see features.py) and shipped as `ranker_model.txt` beside this module. Reading
the text format here keeps LightGBM itself, and the scikit-learn it imports (seconds per
process), out of the search path.

Only what our training writes is evaluated: numerical splits, one tree per iteration, no
zero-as-missing. Anything else is refused when the file is read, naming the file and the
line, so a model that would rank differently here than in LightGBM never loads.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MODEL_FILE = Path(__file__).with_name("ranker_model.txt")
_ALL = ~np.uint64(0)
_MAX_LEAVES = 64  # one bit per leaf in a uint64
# Models of at most 16 leaves a tree (ours have 15) keep their leaf masks in 16 bits, and
# find each row's leaf by a table of the lowest set bit of every 16-bit value: a quarter of
# the memory the masks take in 64 bits, and no logarithm (1.6-2.0 against 0.5 ms for 200
# candidates and 200 trees, measured).
_NARROW_LEAVES = 16
_LOWEST_BIT_16 = np.zeros(1 << 16, np.intp)
_LOWEST_BIT_16[1:] = np.log2(np.arange(1, 1 << 16) & -np.arange(1, 1 << 16)).astype(np.intp)
# LightGBM's decision_type: bit 0 categorical, bits 2-3 the missing type (1: zero).
_CATEGORICAL = 1
_MISSING_ZERO = 1


class RankerModelError(ValueError):
    """A ranker model file that cannot be evaluated here; the message names file and line."""


@dataclass(frozen=True, slots=True)
class _Tree:
    feature: np.ndarray  # per split (internal node)
    threshold: np.ndarray  # a row goes left when its value <= threshold
    left: np.ndarray  # child: >= 0 a split, < 0 the leaf number -1 - child
    right: np.ndarray
    leaf_value: np.ndarray


class Ranker:
    """Scores candidates (rows of features, in `feature_names` order); higher ranks first."""

    def __init__(self, feature_names: tuple[str, ...], trees: list[_Tree]) -> None:
        self.feature_names = feature_names
        self.trees = trees
        leaf_values, leaf_starts, masks, tree_of = [], [], [], []
        leaves = 0
        for number, tree in enumerate(trees):
            order = _leaves_left_to_right(tree)
            leaf_values.append(tree.leaf_value[order])
            leaf_starts.append(leaves)
            leaves += len(order)
            masks.append(_keep_masks(tree, {leaf: slot for slot, leaf in enumerate(order)}))
            tree_of.append(np.full(len(tree.feature), number))
        self._leaf = np.concatenate(leaf_values)
        self._leaf_starts = np.asarray(leaf_starts, np.intp)
        self._narrow = max(len(tree.leaf_value) for tree in trees) <= _NARROW_LEAVES
        splits = _splits_by_feature(trees, np.concatenate(masks), np.concatenate(tree_of))
        if self._narrow:  # the bits above the 16th are set in every mask: nothing is lost
            splits = [(column, at, table.astype(np.uint16)) for column, at, table in splits]
        self._splits = splits

    @classmethod
    def load(cls, path: Path = MODEL_FILE) -> Ranker:
        """Read a LightGBM text model; RankerModelError if it uses what we do not evaluate."""
        names, trees = _parse(path)
        return cls(names, trees)

    def score(self, rows: np.ndarray) -> np.ndarray:
        """The model's score of each row of `rows` (candidates x features).

        QuickScorer's idea (Lucchese et al., SIGIR 2015), taken feature by feature: a split
        that a row fails (value above the threshold: it goes right) rules out the leaves of
        the split's left subtree, and the row's leaf in a tree is the leftmost leaf no failed
        split ruled out. The splits a row fails on one feature are those with a threshold
        below its value, a prefix in threshold order, whose combined masks are precomputed.
        """
        if rows.ndim != 2 or rows.shape[1] != len(self.feature_names):
            raise ValueError(
                f"expected rows of {len(self.feature_names)} features, got shape {rows.shape}"
            )
        values = np.nan_to_num(np.asarray(rows, dtype=np.float64))
        shape = (values.shape[0], len(self.trees))
        kept = np.full(shape, 0xFFFF, np.uint16) if self._narrow else np.full(shape, _ALL)
        for column, thresholds, table in self._splits:
            kept &= table[np.searchsorted(thresholds, values[:, column], side="left")]
        if self._narrow:
            slot = _LOWEST_BIT_16[kept]
        else:
            lowest = kept & (~kept + np.uint64(1))
            slot = np.log2(lowest.astype(np.float64)).astype(np.intp)
        slot += self._leaf_starts
        result: np.ndarray = self._leaf[slot].sum(axis=1)
        return result


def _leaves_left_to_right(tree: _Tree) -> list[int]:
    if len(tree.feature) == 0:
        return [0]
    order: list[int] = []
    stack = [0]
    while stack:
        child = stack.pop()
        if child < 0:
            order.append(-1 - child)
        else:
            stack.extend((int(tree.right[child]), int(tree.left[child])))
    return order


def _keep_masks(tree: _Tree, slot: dict[int, int]) -> np.ndarray:
    """Per split: every leaf's bit set except those of the leaves under its left child."""
    masks = np.full(len(tree.feature), _ALL)
    for node in range(len(tree.feature)):
        stack = [int(tree.left[node])]
        while stack:
            child = stack.pop()
            if child < 0:
                masks[node] &= ~np.uint64(1 << slot[-1 - child])
            else:
                stack.extend((int(tree.left[child]), int(tree.right[child])))
    return masks


def _splits_by_feature(
    trees: list[_Tree], masks: np.ndarray, tree_of: np.ndarray
) -> list[tuple[int, np.ndarray, np.ndarray]]:
    """Per feature: its thresholds in order and, for each prefix of them, the AND of their
    masks in each tree (row 0: nothing failed)."""
    feature = np.concatenate([tree.feature for tree in trees]).astype(np.intp)
    threshold = np.concatenate([tree.threshold for tree in trees])
    splits = []
    for column in np.unique(feature):
        nodes = np.flatnonzero(feature == column)
        nodes = nodes[np.argsort(threshold[nodes], kind="stable")]
        table = np.full((len(nodes) + 1, len(trees)), _ALL)
        for count, node in enumerate(nodes, start=1):
            table[count] = table[count - 1]
            table[count, tree_of[node]] &= masks[node]
        splits.append((int(column), threshold[nodes], table))
    return splits


def _parse(path: Path) -> tuple[tuple[str, ...], list[_Tree]]:
    try:
        lines = path.read_text().splitlines()
    except OSError as error:
        raise RankerModelError(f"{path}: cannot read the ranker model ({error.strerror})") from None
    header: dict[str, str] = {}
    blocks: list[tuple[int, dict[str, str]]] = []
    current = header
    for number, line in enumerate(lines, start=1):
        if line.startswith("Tree="):
            current = {}
            blocks.append((number, current))
        elif line.startswith("end of trees"):
            break
        elif "=" in line:
            key, _, value = line.partition("=")
            current[key] = value
    if header.get("version") != "v4" or "feature_names" not in header:
        raise RankerModelError(f"{path}:1: not a LightGBM v4 text model")
    if header.get("num_tree_per_iteration", "1") != "1" or header.get("num_class", "1") != "1":
        raise RankerModelError(f"{path}:1: only single-output (ranking) models are supported")
    names = tuple(header["feature_names"].split())
    trees = [_tree(path, number, block, len(names)) for number, block in blocks]
    if not trees:
        raise RankerModelError(f"{path}: the model has no trees")
    return names, trees


def _tree(path: Path, line: int, block: dict[str, str], features: int) -> _Tree:
    def numbers(key: str, dtype: type) -> np.ndarray:
        return np.array(block[key].split(), dtype=dtype)  # KeyError: the tree lacks it

    where = f"{path}:{line}"
    try:
        if block.get("num_cat", "0") != "0" or block.get("is_linear", "0") != "0":
            raise RankerModelError(f"{where}: categorical or linear trees are not supported")
        leaf_value = numbers("leaf_value", np.float64)
        if int(block["num_leaves"]) == 1:
            empty = np.array([], np.int64)
            return _Tree(empty, np.array([]), empty, empty, leaf_value)
        if len(leaf_value) > _MAX_LEAVES:
            raise RankerModelError(f"{where}: more than {_MAX_LEAVES} leaves in a tree")
        decision = numbers("decision_type", np.int64)
        if (decision & _CATEGORICAL).any():
            raise RankerModelError(f"{where}: categorical splits are not supported")
        if ((decision >> 2) & 3 == _MISSING_ZERO).any():
            raise RankerModelError(f"{where}: zero-as-missing splits are not supported")
        tree = _Tree(
            feature=numbers("split_feature", np.int64),
            threshold=numbers("threshold", np.float64),
            left=numbers("left_child", np.int64),
            right=numbers("right_child", np.int64),
            leaf_value=leaf_value,
        )
    except KeyError as error:
        raise RankerModelError(f"{where}: the tree has no {error.args[0]}") from None
    except ValueError as error:
        if isinstance(error, RankerModelError):
            raise
        raise RankerModelError(f"{where}: malformed tree ({error})") from None
    splits = len(tree.feature)
    if (
        tree.feature.max() >= features
        or not len(tree.threshold) == len(tree.left) == len(tree.right) == splits
        or len(tree.leaf_value) != splits + 1
    ):
        raise RankerModelError(f"{where}: splits do not match the {features} features")
    return tree


@functools.cache
def shipped_ranker(path: Path = MODEL_FILE) -> Ranker | None:
    """The model shipped with the package, read once per process; None if it is missing."""
    if not path.exists():
        return None
    return Ranker.load(path)
