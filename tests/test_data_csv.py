"""CSV tables: the iris file, splits, standardization with training statistics, bad files."""
from __future__ import annotations

import numpy as np
import pytest

from nndl.data import load_csv, load_data
from nndl.errors import NndlError
from nndl.preprocessing import Standardize


@pytest.fixture(scope="module")
def iris(iris_csv):
    return load_csv(iris_csv)


def test_iris_split_sizes_and_classes(iris):
    splits, pre = iris
    assert (len(splits.train), len(splits.validation), len(splits.test)) == (105, 22, 23)
    for _, part in splits.parts():
        assert part.class_names == ["setosa", "versicolor", "virginica"]
        assert part.num_classes == 3
        assert part.x.shape[1] == 4 and part.x.dtype == np.float32
        assert part.image_shape is None
    assert splits.train.name == "iris.csv (training)"
    assert splits.test.name == "iris.csv (test)"
    assert isinstance(pre, Standardize) and splits.preprocessor is pre


def test_split_is_stratified(iris):
    splits, _ = iris
    assert splits.train.class_counts().tolist() == [35, 35, 35]
    for part in (splits.validation, splits.test):
        assert part.class_counts().min() >= 7


def test_every_row_used_once(iris, iris_csv):
    splits, pre = iris
    rows = np.concatenate([pre.inverse_transform(part.x) for _, part in splits.parts()])
    raw = np.loadtxt(iris_csv, delimiter=",", skiprows=1, usecols=range(4))
    key = lambda a: np.round(a, 3)[np.lexsort(np.round(a, 3).T[::-1])]  # noqa: E731
    np.testing.assert_allclose(key(rows), key(raw), atol=1e-4)


def test_training_features_are_standardized(iris):
    splits, _ = iris
    x = splits.train.x.astype(np.float64)
    np.testing.assert_allclose(x.mean(axis=0), 0, atol=1e-6)
    np.testing.assert_allclose(x.std(axis=0), 1, atol=1e-6)
    # The other parts are not standardized by their own statistics.
    assert np.abs(splits.test.x.mean(axis=0)).max() > 1e-3


def test_validation_and_test_use_training_statistics(iris, iris_csv):
    splits, pre = iris
    raw, none = load_csv(iris_csv, standardize=False)
    assert none is None and raw.preprocessor is None
    np.testing.assert_array_equal(raw.train.y, splits.train.y)  # same seed, same order
    train = raw.train.x.astype(np.float64)
    mean, std = train.mean(axis=0), train.std(axis=0)
    np.testing.assert_allclose(pre.arrays()["mean"], mean, rtol=1e-6)
    for name in ("validation", "test"):
        expected = (getattr(raw, name).x.astype(np.float64) - mean) / std
        np.testing.assert_allclose(getattr(splits, name).x, expected, atol=1e-5)


def test_seed_controls_the_shuffle(iris_csv):
    a, _ = load_csv(iris_csv, seed=0)
    b, _ = load_csv(iris_csv, seed=0)
    c, _ = load_csv(iris_csv, seed=1)
    np.testing.assert_array_equal(a.test.x, b.test.x)
    assert not np.array_equal(a.test.x, c.test.x)


def test_split_fractions(iris_csv):
    splits, _ = load_csv(iris_csv, split=(0.8, 0.0, 0.2))
    assert splits.validation is None and (len(splits.train), len(splits.test)) == (120, 30)
    splits, _ = load_csv(iris_csv, split=(0.5, 0.1, 0.1))
    assert (len(splits.train), len(splits.validation), len(splits.test)) == (75, 15, 15)
    for bad in [(0.7, 0.2, 0.2), (0, 0.5, 0.5), (0.7, -0.1, 0.2), (0.5,), "abc"]:
        with pytest.raises(NndlError, match="fractions"):
            load_csv(iris_csv, split=bad)


def test_load_data_dispatches_csv(iris_csv):
    splits = load_data(str(iris_csv), seed=3)
    assert len(splits.train) == 105 and splits.preprocessor is not None


def write(tmp_path, text, name="table.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


TABLE = "a,b,kind\n" + "".join(f"{i},{i * i % 7},{'xy'[i % 2]}\n" for i in range(20))


def test_label_column_choice(tmp_path):
    path = write(tmp_path, TABLE)
    splits, _ = load_csv(path)  # no usual name: the last column
    assert splits.train.class_names == ["x", "y"] and splits.train.x.shape[1] == 2
    numeric = write(tmp_path, "a,b,c\n" + "".join(f"{i % 2},{i},{i * i}\n" for i in range(20)), "n.csv")
    splits, _ = load_csv(numeric, label="a", standardize=False)  # any column by name
    assert splits.train.num_classes == 2 and splits.train.x.shape[1] == 2
    np.testing.assert_array_equal(splits.train.y, splits.train.x[:, 0].astype(int) % 2)
    path = write(tmp_path, "Target,f\n" + "".join(f"{i % 3},{i}\n" for i in range(30)), "t.csv")
    splits, _ = load_csv(path)
    assert splits.train.class_names == ["0", "1", "2"]
    assert splits.train.x.shape[1] == 1


def test_integer_labels(tmp_path):
    path = write(tmp_path, "f1,f2,label\n" + "".join(f"{i},{-i},{i % 4}\n" for i in range(40)))
    splits, _ = load_csv(path, standardize=False)
    assert splits.train.num_classes == 4 and splits.train.class_names == ["0", "1", "2", "3"]
    np.testing.assert_array_equal(splits.train.y, (-splits.train.x[:, 1]).astype(int) % 4)


def test_missing_label_column(tmp_path):
    path = write(tmp_path, TABLE)
    with pytest.raises(NndlError, match=r"table\.csv: no label column 'species'; the columns are a, b, kind"):
        load_csv(path, label="species")


def test_non_numeric_value(tmp_path):
    path = write(tmp_path, "a,b,label\n1,2,x\n3,4,y\n5,six,x\n7,8,y\n")
    with pytest.raises(NndlError, match=r"table\.csv, line 4, column 'b': 'six' is not a number"):
        load_csv(path)


@pytest.mark.parametrize("cell, words", [("", "empty cell"), ("nan", "not a finite number"),
                                         ("inf", "not a finite number")])
def test_empty_or_nan_value(tmp_path, cell, words):
    path = write(tmp_path, f"a,b,label\n1,2,x\n{cell},4,y\n5,6,x\n7,8,y\n")
    with pytest.raises(NndlError, match=rf"table\.csv, line 3, column 'a': .*{words}"):
        load_csv(path)


def test_empty_label(tmp_path):
    path = write(tmp_path, "a,label\n1,x\n2,\n3,y\n")
    with pytest.raises(NndlError, match=r"table\.csv, line 3, column 'label': empty label"):
        load_csv(path)


def test_only_a_header(tmp_path):
    path = write(tmp_path, "a,b,label\n")
    with pytest.raises(NndlError, match=r"table\.csv: only a header, no data rows"):
        load_csv(path)


def test_empty_file(tmp_path):
    path = write(tmp_path, "")
    with pytest.raises(NndlError, match=r"table\.csv: the file is empty"):
        load_csv(path)


def test_nonexistent_file(tmp_path):
    with pytest.raises(NndlError, match=r"nothere\.csv: no such file"):
        load_csv(tmp_path / "nothere.csv")


def test_ragged_row(tmp_path):
    path = write(tmp_path, "a,b,label\n1,2,x\n3,y\n")
    with pytest.raises(NndlError, match=r"table\.csv, line 3: 2 values but the header has 3 columns"):
        load_csv(path)


def test_too_few_rows_for_the_split(tmp_path):
    path = write(tmp_path, "a,label\n1,x\n2,y\n3,x\n")
    with pytest.raises(NndlError, match=r"table\.csv: 3 rows are too few .* validation part would be empty"):
        load_csv(path)


def test_no_feature_columns(tmp_path):
    path = write(tmp_path, "label\nx\ny\n")
    with pytest.raises(NndlError, match="no feature columns"):
        load_csv(path)


# -- bounds and malformed files ------------------------------------------------------------------
from nndl.data import csv_table  # noqa: E402


def one_line(err) -> str:
    message = str(err.value)
    assert "\n" not in message and "\r" not in message
    return message


@pytest.mark.parametrize("big", [65536, 10**9, 10**30, 2**63])
def test_huge_class_index_is_refused(tmp_path, big):
    """10**9 would make 10**9 classes (a network with 10**9 outputs); 10**30 does not fit in int64."""
    path = write(tmp_path, "a,label\n" + "".join(f"{i},{i % 3}\n" for i in range(20)) + f"5,{big}\n")
    with pytest.raises(NndlError, match=rf"table\.csv, line 22, column 'label': class index {big} is too "
                                        rf"large; .* at most 65536") as err:
        load_csv(path)
    one_line(err)


def test_largest_class_index_is_accepted(tmp_path):
    path = write(tmp_path, "a,label\n" + "".join(f"{i},{i % 3}\n" for i in range(20)) + "5,65535\n")
    splits, _ = load_csv(path, split=(0.5, 0.5))
    assert splits.train.num_classes == 65536


def test_too_many_text_labels(tmp_path, monkeypatch):
    monkeypatch.setattr(csv_table, "MAX_CLASSES", 3)
    path = write(tmp_path, "a,label\n" + "".join(f"{i},{'wxyz'[i % 4]}\n" for i in range(20)))
    with pytest.raises(NndlError, match=r"table\.csv, column 'label': 4 different labels; .* at most 3 classes"):
        load_csv(path)


def test_nul_byte(tmp_path):
    path = tmp_path / "table.csv"
    path.write_bytes(b"a,label\n1,x\n2,y\x00\n3,x\n")
    with pytest.raises(NndlError, match=r"table\.csv, line 3: a NUL byte; not a UTF-8 text file") as err:
        load_csv(path)
    one_line(err)


@pytest.mark.parametrize("raw, line", [(b"a,label\n1,x\n2,\xff\n", 3), ("a,label\n1,x\n".encode("utf-16"), 1)])
def test_not_utf8(tmp_path, raw, line):
    path = tmp_path / "table.csv"
    path.write_bytes(raw)
    with pytest.raises(NndlError, match=rf"table\.csv, line {line}: .*not a UTF-8 text file"):
        load_csv(path)


def test_cell_too_long(tmp_path):
    path = write(tmp_path, "a,label\n1,x\n" + "1" * 300 + ",y\n")
    with pytest.raises(NndlError, match=r"table\.csv, line 3, column 1: a cell of 300 characters; .* at most 256"):
        load_csv(path)


def test_too_many_columns(tmp_path):
    names = ",".join(f"c{j}" for j in range(100_001))
    path = write(tmp_path, names + "\n")
    with pytest.raises(NndlError, match=r"table\.csv, line 1: 100001 columns; .* at most 100000 columns"):
        load_csv(path)


def test_file_too_big(tmp_path, monkeypatch):
    monkeypatch.setattr(csv_table, "MAX_CSV_BYTES", 100)
    path = write(tmp_path, TABLE)
    with pytest.raises(NndlError, match=r"table\.csv: more than 100 bytes"):
        load_csv(path)


def test_unclosed_quote_swallowing_the_rest(tmp_path):
    path = write(tmp_path, 'a,b,label\n1,2,x\n"3,4,y\n5,6,x\n')
    with pytest.raises(NndlError, match=r"table\.csv, line 4: 1 values but the header has 3 columns"):
        load_csv(path)


def test_column_names_with_line_breaks_stay_on_one_line(tmp_path):
    path = write(tmp_path, '"two\nlines",b,kind\n1,2,x\n3,4,y\n')
    with pytest.raises(NndlError, match=r"no label column 'species'; the columns are 'two\\nlines', b, kind") as err:
        load_csv(path, label="species")
    one_line(err)
    dup = write(tmp_path, '"x\ry","x\ry",kind\n1,2,x\n', "dup.csv")
    with pytest.raises(NndlError, match=r"repeats column name\(s\) 'x\\ry'") as err:
        load_csv(dup)
    one_line(err)


def test_wide_header_lists_some_names(tmp_path):
    path = write(tmp_path, ",".join(f"c{j}" for j in range(50)) + "\n" + ",".join("1" * 50) + "\n")
    with pytest.raises(NndlError, match=r"the columns are c0, c1, .*, c19 and 30 more$"):
        load_csv(path, label="species")


def test_too_few_training_rows_to_standardize(tmp_path):
    path = write(tmp_path, "a,label\n1,x\n2,y\n")
    with pytest.raises(NndlError, match=r"table\.csv: 2 rows leave 1 for training; standardizing"):
        load_csv(path, split=(0.5, 0.5))
    assert len(load_csv(path, split=(0.5, 0.5), standardize=False)[0].train) == 1
