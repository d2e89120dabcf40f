"""The vectorised Kalman smoother against filterpy (the reference), and its behaviour."""

from __future__ import annotations

import numpy as np
import pytest
from filterpy.common import Q_discrete_white_noise
from filterpy.kalman import KalmanFilter
from scipy.linalg import block_diag

from perspose_rt.smoothing import KalmanSettings, KalmanSmoother, make_smoother
from perspose_rt.smoothing.kalman import process_noise, transition_matrix


def _filterpy_joint(settings: KalmanSettings, z0: np.ndarray, r0: float) -> KalmanFilter:
    """filterpy's KalmanFilter for one joint in 3D, state [x x' (x'') y … z …] (order by dim)."""
    n = settings.order
    kf = KalmanFilter(dim_x=3 * n, dim_z=3)
    kf.H = np.zeros((3, 3 * n))
    for a in range(3):
        kf.H[a, a * n] = 1.0
    kf.x = np.zeros((3 * n, 1))
    kf.x[[0, n, 2 * n], 0] = z0
    p = np.zeros((n, n))
    p[0, 0] = r0
    p[1, 1] = settings.initial_velocity_std**2
    if n == 3:
        p[2, 2] = settings.initial_acceleration_std**2
    kf.P = block_diag(p, p, p)
    return kf


@pytest.mark.parametrize("model", ["cv", "ca"])
def test_matches_filterpy_with_variable_dt_and_confidence(model: str) -> None:
    rng = np.random.default_rng(3)
    settings = KalmanSettings(model=model, process_std=2.5, measurement_std=0.03)
    n, J, T = settings.order, 4, 40
    truth = np.cumsum(rng.normal(0, 0.01, (T, J, 3)), axis=0)
    meas = truth + rng.normal(0, 0.03, truth.shape)
    conf = rng.uniform(0.2, 1.0, (T, J))
    times = np.cumsum(rng.uniform(0.02, 0.06, T))  # irregular frame times (dropped frames)

    ours = KalmanSmoother(J, settings)
    out = np.stack([ours.update(meas[t], times[t], conf[t]) for t in range(T)])

    for j in range(J):
        r0 = settings.measurement_std**2 / conf[0, j]
        kf = _filterpy_joint(settings, meas[0, j], r0)
        ref = [meas[0, j]]
        for t in range(1, T):
            dt = times[t] - times[t - 1]
            kf.F = block_diag(*[transition_matrix(n, dt)] * 3)
            kf.Q = Q_discrete_white_noise(n, dt=dt, var=settings.process_std**2, block_size=3)
            kf.predict()
            kf.update(meas[t, j].reshape(3, 1), R=np.eye(3) * settings.measurement_std**2 / conf[t, j])
            ref.append(kf.x[[0, n, 2 * n], 0].copy())
        np.testing.assert_allclose(out[:, j], np.stack(ref), atol=1e-10, rtol=0)
        np.testing.assert_allclose(ours.covariance[j], kf.P[:n, :n], atol=1e-12, rtol=1e-9)


@pytest.mark.parametrize("order", [2, 3])
def test_process_noise_equals_filterpy(order: int) -> None:
    np.testing.assert_allclose(process_noise(order, 0.04, 7.0), Q_discrete_white_noise(order, 0.04, 7.0))


def test_reset_restarts_from_next_measurement() -> None:
    k = KalmanSmoother(2)
    for t in range(10):
        k.update(np.zeros((2, 3)), t / 30)
    k.reset()
    far = np.full((2, 3), 5.0)
    np.testing.assert_array_equal(k.update(far, 11 / 30), far)


def test_long_gap_restarts() -> None:
    k = KalmanSmoother(1, KalmanSettings(max_gap_s=0.5))
    k.update(np.zeros((1, 3)), 0.0)
    k.update(np.zeros((1, 3)), 0.033)
    out = k.update(np.ones((1, 3)), 2.0)  # 2 s later: a new track, not a blend
    np.testing.assert_array_equal(out, np.ones((1, 3)))


def test_rejects_nan() -> None:
    k = KalmanSmoother(1)
    with pytest.raises(ValueError, match="finite"):
        k.update(np.full((1, 3), np.nan), 0.0)


def test_make_smoother_names() -> None:
    for name in ("kalman-cv", "kalman-ca", "one-euro", "none"):
        s = make_smoother(name, 17, fps=25)
        out = s.update(np.ones((17, 3)), 0.0)
        np.testing.assert_array_equal(out, np.ones((17, 3)))
    with pytest.raises(ValueError, match="unknown smoother"):
        make_smoother("median", 17)


def test_smoothing_lowers_error_on_noisy_h36m(h36m_dir) -> None:
    """Real motion (S9, 25 fps) with 2 cm noise: MPJPE and acceleration error both go down."""
    from perspose_rt.metrics import acceleration_error, mpjpe

    data = np.load(h36m_dir / "poses_3d_17j.npz")
    gt = data["S9/Walking 1"][::2][:300].astype(np.float64)
    noisy = gt + np.random.default_rng(0).normal(0, 0.02, gt.shape)
    for name in ("kalman-cv", "kalman-ca", "one-euro"):
        s = make_smoother(name, 17, fps=25)
        out = np.stack([s.update(z, i / 25) for i, z in enumerate(noisy)])
        assert acceleration_error(out, gt).mean() < 0.6 * acceleration_error(noisy, gt).mean(), name
        assert mpjpe(out, gt).mean() < mpjpe(noisy, gt).mean(), name


def test_ca_acceleration_prior_is_in_m_per_s2_at_every_frame_rate() -> None:
    """The ``ca`` start covariance of the acceleration is ``initial_acceleration_std²`` (m²/s⁴),
    whatever the nominal frame rate (it was (initial_velocity_std / nominal_dt)²: 3600 at 30 fps)."""
    for dt in (1 / 25, 1 / 30, 1 / 60):
        s = KalmanSmoother(2, KalmanSettings(model="ca", nominal_dt=dt, initial_acceleration_std=10.0))
        s.update(np.zeros((2, 3)), 0.0)
        np.testing.assert_allclose(s.covariance[:, 2, 2], 100.0)
        np.testing.assert_allclose(s.covariance[:, 1, 1], 4.0)  # initial_velocity_std = 2 m/s
