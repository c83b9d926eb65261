/* Forward kinematics, geometric Jacobian and rotation error of a general serial chain.
 *
 * The chain is F_0 M_0(q_0) F_1 ... M_{n-1}(q_{n-1}) F_n (contract.h): fixed transforms and
 * joint motions (rotation about, or translation along, a unit axis). DH tables are the
 * special case whose fixed rotations are about x (rot_kind 1) and whose axes are z: both
 * have fast paths here, so a DH arm costs what a hand-written DH kernel would.
 */
#include <math.h>

#include "iknn.h"

/* (R, p) <- (R, p) F_i */
static inline void apply_fixed(const IknnChain *c, int i, double *R, double *p)
{
    const double *F = c->fixed + 12 * i;
    const double tx = F[3], ty = F[7], tz = F[11];
    for (int r = 0; r < 3; r++)
        p[r] += R[3 * r] * tx + R[3 * r + 1] * ty + R[3 * r + 2] * tz;
    switch (c->rot_kind[i]) {
    case 0:
        break;
    case 1: {
        const double co = c->rot_cs[2 * i], si = c->rot_cs[2 * i + 1];
        for (int r = 0; r < 3; r++) {
            const double y = R[3 * r + 1], z = R[3 * r + 2];
            R[3 * r + 1] = co * y + si * z;
            R[3 * r + 2] = -si * y + co * z;
        }
        break;
    }
    default:
        for (int r = 0; r < 3; r++) {
            const double x = R[3 * r], y = R[3 * r + 1], z = R[3 * r + 2];
            R[3 * r] = x * F[0] + y * F[4] + z * F[8];
            R[3 * r + 1] = x * F[1] + y * F[5] + z * F[9];
            R[3 * r + 2] = x * F[2] + y * F[6] + z * F[10];
        }
    }
}

/* R <- R Rot(axis, theta) */
static inline void rotate(const IknnChain *c, int i, double theta, double *R)
{
    const int code = c->axis_code[i];
    const double *a = c->axis + 3 * i;
    if (code < 3) {
        /* axis = +-e_code: rotate the two other columns */
        const double th = a[code] < 0.0 ? -theta : theta;
        const double co = cos(th), si = sin(th);
        const int j = (code + 1) % 3, k = (code + 2) % 3;
        for (int r = 0; r < 3; r++) {
            const double x = R[3 * r + j], y = R[3 * r + k];
            R[3 * r + j] = co * x + si * y;
            R[3 * r + k] = -si * x + co * y;
        }
        return;
    }
    /* Rodrigues: K = cos I + sin [a]x + (1 - cos) a a^T */
    const double co = cos(theta), si = sin(theta), v = 1.0 - co;
    const double x = a[0], y = a[1], z = a[2];
    const double K[9] = {co + v * x * x,     v * x * y - si * z, v * x * z + si * y,
                         v * x * y + si * z, co + v * y * y,     v * y * z - si * x,
                         v * x * z - si * y, v * y * z + si * x, co + v * z * z};
    for (int r = 0; r < 3; r++) {
        const double r0 = R[3 * r], r1 = R[3 * r + 1], r2 = R[3 * r + 2];
        R[3 * r] = r0 * K[0] + r1 * K[3] + r2 * K[6];
        R[3 * r + 1] = r0 * K[1] + r1 * K[4] + r2 * K[7];
        R[3 * r + 2] = r0 * K[2] + r1 * K[5] + r2 * K[8];
    }
}

void iknn_chain(const IknnChain *c, const double *q, IknnPose *tool, double *axes,
                double *origins)
{
    double *R = tool->R, *p = tool->p;
    const int dof = c->dof[0];
    for (int k = 0; k < 9; k++)
        R[k] = (k % 4 == 0) ? 1.0 : 0.0;
    p[0] = p[1] = p[2] = 0.0;
    for (int i = 0; i < dof; i++) {
        apply_fixed(c, i, R, p);
        const double *a = c->axis + 3 * i;
        double zx, zy, zz;
        if (c->axis_code[i] < 3) {
            const int k = c->axis_code[i];
            const double sg = a[k] < 0.0 ? -1.0 : 1.0;
            zx = sg * R[k];
            zy = sg * R[3 + k];
            zz = sg * R[6 + k];
        } else {
            zx = R[0] * a[0] + R[1] * a[1] + R[2] * a[2];
            zy = R[3] * a[0] + R[4] * a[1] + R[5] * a[2];
            zz = R[6] * a[0] + R[7] * a[1] + R[8] * a[2];
        }
        if (axes) {
            axes[3 * i] = zx;
            axes[3 * i + 1] = zy;
            axes[3 * i + 2] = zz;
            origins[3 * i] = p[0];
            origins[3 * i + 1] = p[1];
            origins[3 * i + 2] = p[2];
        }
        const double v = q[i] + c->offset[i];
        if (c->kind[i] == 1) {
            p[0] += v * zx;
            p[1] += v * zy;
            p[2] += v * zz;
        } else {
            rotate(c, i, v, R);
        }
    }
    apply_fixed(c, dof, R, p);
}

void iknn_jacobian(const IknnChain *c, const double *p, const double *axes,
                   const double *origins, double *J)
{
    const int dof = c->dof[0];
    for (int i = 0; i < dof; i++) {
        const double zx = axes[3 * i], zy = axes[3 * i + 1], zz = axes[3 * i + 2];
        if (c->kind[i] == 1) {
            J[i] = zx;
            J[dof + i] = zy;
            J[2 * dof + i] = zz;
            J[3 * dof + i] = 0.0;
            J[4 * dof + i] = 0.0;
            J[5 * dof + i] = 0.0;
            continue;
        }
        const double rx = p[0] - origins[3 * i], ry = p[1] - origins[3 * i + 1],
                     rz = p[2] - origins[3 * i + 2];
        J[i] = zy * rz - zz * ry;
        J[dof + i] = zz * rx - zx * rz;
        J[2 * dof + i] = zx * ry - zy * rx;
        J[3 * dof + i] = zx;
        J[4 * dof + i] = zy;
        J[5 * dof + i] = zz;
    }
}

double iknn_rotation_log(const double *Rt, const double *R, double *w)
{
    /* E = Rt R^T. Robust at both ends: atan2 keeps tiny angles exact; near pi the axis
     * comes from the symmetric part instead of the vanishing skew part. */
    double E[9];
    for (int r = 0; r < 3; r++)
        for (int k = 0; k < 3; k++)
            E[3 * r + k] = Rt[3 * r] * R[3 * k] + Rt[3 * r + 1] * R[3 * k + 1] +
                           Rt[3 * r + 2] * R[3 * k + 2];
    const double vx = E[7] - E[5], vy = E[2] - E[6], vz = E[3] - E[1];
    const double s2 = sqrt(vx * vx + vy * vy + vz * vz); /* 2 sin */
    const double c2 = E[0] + E[4] + E[8] - 1.0;          /* 2 cos */
    const double angle = atan2(s2, c2);
    if (angle < 1e-8) {
        w[0] = 0.5 * vx;
        w[1] = 0.5 * vy;
        w[2] = 0.5 * vz;
    } else if (angle < M_PI - 1e-4) {
        const double k = angle / s2;
        w[0] = k * vx;
        w[1] = k * vy;
        w[2] = k * vz;
    } else {
        /* symmetric part = cos I + (1 - cos) n n^T: n from the largest diagonal entry */
        const double co = 0.5 * c2, om = 1.0 - co;
        double n0, n1, n2;
        if (E[0] >= E[4] && E[0] >= E[8]) {
            const double nk = sqrt(fmax((E[0] - co) / om, 1e-300));
            n0 = nk;
            n1 = 0.5 * (E[3] + E[1]) / (om * nk);
            n2 = 0.5 * (E[6] + E[2]) / (om * nk);
        } else if (E[4] >= E[8]) {
            const double nk = sqrt(fmax((E[4] - co) / om, 1e-300));
            n0 = 0.5 * (E[1] + E[3]) / (om * nk);
            n1 = nk;
            n2 = 0.5 * (E[7] + E[5]) / (om * nk);
        } else {
            const double nk = sqrt(fmax((E[8] - co) / om, 1e-300));
            n0 = 0.5 * (E[2] + E[6]) / (om * nk);
            n1 = 0.5 * (E[5] + E[7]) / (om * nk);
            n2 = nk;
        }
        if (n0 * vx + n1 * vy + n2 * vz < 0.0) {
            n0 = -n0;
            n1 = -n1;
            n2 = -n2;
        }
        const double nn = sqrt(n0 * n0 + n1 * n1 + n2 * n2);
        w[0] = angle * n0 / nn;
        w[1] = angle * n1 / nn;
        w[2] = angle * n2 / nn;
    }
    return angle;
}

void iknn_pose_from(const double *T, IknnPose *pose)
{
    for (int r = 0; r < 3; r++) {
        pose->R[3 * r] = T[4 * r];
        pose->R[3 * r + 1] = T[4 * r + 1];
        pose->R[3 * r + 2] = T[4 * r + 2];
        pose->p[r] = T[4 * r + 3];
    }
}
