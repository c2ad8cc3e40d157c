"""Preprocessors: statistics from training data, saved and rebuilt exactly, whitening works."""
from __future__ import annotations

import json

import numpy as np
import pytest

from nndl import preprocessing
from nndl.errors import NndlError
from nndl.preprocessing import (PCA, PREPROCESSORS, MeanSubtract, PCAWhiten, Standardize, ZCAWhiten,
                                get_preprocessor, preprocessor_from_config)

D = 8


@pytest.fixture(scope="module")
def data():
    """Correlated, well-conditioned data: singular values of the mixing matrix in [1, 3]."""
    rng = np.random.default_rng(7)
    q1, _ = np.linalg.qr(rng.normal(size=(D, D)))
    q2, _ = np.linalg.qr(rng.normal(size=(D, D)))
    mix = q1 @ np.diag(np.linspace(3, 1, D)) @ q2
    x = rng.normal(size=(4000, D)) @ mix + rng.normal(size=D) * 5
    test = rng.normal(size=(500, D)) @ mix
    return x.astype(np.float32), test.astype(np.float32)


ALL = [("mean", {}), ("standardize", {}), ("pca", {"k": 3}), ("pca_whiten", {"k": 3}),
       ("pca_whiten", {}), ("zca", {"eps": 1e-5})]


@pytest.mark.parametrize("name, kwargs", ALL)
def test_round_trip_through_config_and_arrays(data, name, kwargs):
    x, test = data
    pre = get_preprocessor(name, **kwargs).fit(x)
    config = json.loads(json.dumps(pre.config()))  # JSON-able
    assert config["name"] == name and config["num_features"] == D
    arrays = {k: np.array(v) for k, v in pre.arrays().items()}
    rebuilt = preprocessor_from_config(config, arrays)
    assert type(rebuilt) is type(pre)
    np.testing.assert_array_equal(rebuilt.transform(test), pre.transform(test))
    out = pre.transform(test)
    assert out.dtype == np.float32 and out.shape == (len(test), pre.output_features)


@pytest.mark.parametrize("name, kwargs", [a for a in ALL if a != ("pca", {"k": 3}) and a != ("pca_whiten", {"k": 3})])
def test_inverse(data, name, kwargs):
    x, test = data
    pre = get_preprocessor(name, **kwargs).fit(x)
    np.testing.assert_allclose(pre.inverse_transform(pre.transform(test)), test, atol=1e-3)


def test_mean_subtract(data):
    x, test = data
    pre = MeanSubtract().fit(x)
    np.testing.assert_allclose(pre.transform(x).mean(axis=0), 0, atol=1e-4)
    np.testing.assert_allclose(pre.transform(test), test - x.astype(np.float64).mean(axis=0), atol=1e-4)


def test_standardize(data):
    x, test = data
    z = Standardize().fit_transform(x).astype(np.float64)
    np.testing.assert_allclose(z.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(z.std(axis=0), 1, atol=1e-5)
    pre = Standardize().fit(x)
    x64 = x.astype(np.float64)
    np.testing.assert_allclose(pre.transform(test), (test - x64.mean(0)) / x64.std(0), rtol=1e-5, atol=1e-5)


def test_standardize_constant_column():
    x = np.array([[1.0, 5.0], [2.0, 5.0], [3.0, 5.0]])
    pre = Standardize().fit(x)
    z = pre.transform(x)
    assert np.isfinite(z).all() and (z[:, 1] == 0).all()
    assert pre.transform(np.array([[2.0, 6.0]]))[0, 1] == 1.0  # only centred, not divided by ~0


def test_pca(data):
    x, _ = data
    pre = PCA(3).fit(x)
    z = pre.transform(x).astype(np.float64)
    assert z.shape == (len(x), 3)
    variances = z.var(axis=0, ddof=1)
    assert variances[0] > variances[1] > variances[2]
    np.testing.assert_allclose(variances, pre.variances, rtol=1e-4)
    np.testing.assert_allclose(np.corrcoef(z.T), np.eye(3), atol=1e-4)  # uncorrelated
    # Matches the top eigenvalues of the covariance.
    top = np.sort(np.linalg.eigvalsh(np.cov(x.astype(np.float64).T)))[::-1][:3]
    np.testing.assert_allclose(pre.variances, top, rtol=1e-6)
    # All components: a rotation, so the inverse reconstructs exactly.
    full = PCA(D).fit(x)
    np.testing.assert_allclose(full.inverse_transform(full.transform(x)), x, atol=1e-3)


def test_pca_is_deterministic(data):
    x, _ = data
    np.testing.assert_array_equal(PCA(4).fit(x).components, PCA(4).fit(x.copy()).components)


def _cov(z):
    return np.cov(np.asarray(z, dtype=np.float64).T)


def test_zca_whitening(data):
    x, test = data
    pre = ZCAWhiten(eps=1e-5).fit(x)
    z = pre.transform(x)
    assert z.shape == x.shape
    np.testing.assert_allclose(_cov(z), np.eye(D), atol=1e-3)
    np.testing.assert_allclose(z.mean(axis=0), 0, atol=1e-4)
    # ZCA's matrix is symmetric: of all whitening transforms, the one nearest the identity.
    w = pre._whitening()[0]
    np.testing.assert_allclose(w, w.T, atol=1e-12)


def test_zca_eps_shrinks_small_directions(data):
    x, _ = data
    variances = ZCAWhiten().fit(x).variances
    z = ZCAWhiten(eps=1.0).fit_transform(x)
    expected = variances / (variances + 1.0)  # eigenvalues of the whitened covariance
    np.testing.assert_allclose(np.sort(np.linalg.eigvalsh(_cov(z))), np.sort(expected), rtol=1e-3)


def test_pca_whitening(data):
    x, _ = data
    z = PCAWhiten(k=3, eps=1e-5).fit_transform(x)
    assert z.shape == (len(x), 3)
    np.testing.assert_allclose(_cov(z), np.eye(3), atol=1e-3)
    z = PCAWhiten(eps=1e-5).fit_transform(x)
    assert z.shape == x.shape
    np.testing.assert_allclose(_cov(z), np.eye(D), atol=1e-3)


def test_images_keep_their_shape(data):
    x, _ = data
    images = x.reshape(-1, 2, 2, 2)
    assert Standardize().fit(images).transform(images).shape == images.shape
    assert ZCAWhiten().fit(images).transform(images).shape == images.shape
    assert PCA(3).fit(images).transform(images).shape == (len(x), 3)
    assert PCA(3).fit(x).transform(x[0]).shape == (3,)  # one example


def test_chunked_matches_whole(data, monkeypatch):
    x, test = data
    whole = ZCAWhiten().fit(x)
    expected = whole.transform(test)
    monkeypatch.setattr(preprocessing, "CHUNK", 37)
    chunked = ZCAWhiten().fit(x)
    np.testing.assert_allclose(chunked.transform(test), expected, atol=1e-4)
    np.testing.assert_allclose(chunked.variances, whole.variances, rtol=1e-9)


@pytest.mark.parametrize("make, words", [
    (lambda: PCA(0), "k must be a positive whole number"),
    (lambda: PCA(2.5), "k must be a positive whole number"),
    (lambda: PCA("3"), "k must be a positive whole number"),
    (lambda: PCAWhiten(k=-1), "k must be a positive whole number"),
    (lambda: ZCAWhiten(eps=0), "eps must be a positive number"),
    (lambda: ZCAWhiten(eps=-1e-5), "eps must be a positive number"),
    (lambda: PCAWhiten(eps=float("nan")), "eps must be a positive number"),
    (lambda: get_preprocessor("whiten"), "unknown preprocessing 'whiten'; choose one of mean, pca, pca_whiten, "
                                         "standardize, zca"),
    (lambda: get_preprocessor("pca", q=3), "pca preprocessing does not take q"),
])
def test_bad_arguments(make, words):
    with pytest.raises(NndlError, match=words):
        make()


def test_k_larger_than_features(data):
    x, _ = data
    with pytest.raises(NndlError, match=f"PCA with k=20 components but the data has {D} features"):
        PCA(20).fit(x)


def test_use_errors(data):
    x, test = data
    with pytest.raises(NndlError, match="not fitted"):
        Standardize().transform(x)
    pre = Standardize().fit(x)
    with pytest.raises(NndlError, match=f"fitted on {D} features but the input has 3"):
        pre.transform(np.zeros((2, 3)))
    with pytest.raises(NndlError, match="NaN or infinity"):
        Standardize().fit(np.array([[1.0, np.nan], [2.0, 3.0]]))
    with pytest.raises(NndlError, match="at least 2 examples"):
        Standardize().fit(x[:1])
    with pytest.raises(NndlError, match=f"pca preprocessing gives 3 values per example but the input to "
                                        f"inverse_transform has {D}"):
        PCA(3).fit(x).inverse_transform(np.zeros((2, D)))


def test_bad_saved_state(data):
    x, _ = data
    pre = PCA(3).fit(x)
    arrays = pre.arrays()
    with pytest.raises(NndlError, match="lack 'components'"):
        preprocessor_from_config(pre.config(), {"mean": arrays["mean"], "variances": arrays["variances"]})
    with pytest.raises(NndlError, match=r"'components' has shape \(8, 2\), expected \(8, 3\)"):
        preprocessor_from_config(pre.config(), {**arrays, "components": arrays["components"][:, :2]})
    with pytest.raises(NndlError, match="needs 'name' and 'num_features'"):
        preprocessor_from_config({"k": 3}, arrays)


def test_registry_names():
    assert list(PREPROCESSORS) == ["mean", "standardize", "pca", "pca_whiten", "zca"]
    assert isinstance(get_preprocessor("PCA-whiten", k=2), PCAWhiten)
