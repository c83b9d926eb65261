/* Compiled twins of ik_nn/encoding.py (tested equal): encode_pose + azimuth, and decode +
 * nearest_representative. The feature layout is documented there. */
#include <math.h>

#include "iknn.h"

#define TWO_PI 6.283185307179586

int iknn_encode(const IknnNetwork *n, const double *T, int position_only, float *out,
                double *phi)
{
    for (int k = 0; k < 16; k++)
        if (!isfinite(T[k]))
            return 0;
    const double *E = n->frame; /* E[0..8] base rotation^T, E[9..11] its translation */
    double p[3], R[9];
    for (int r = 0; r < 3; r++) {
        double v = E[9 + r];
        for (int k = 0; k < 3; k++)
            v += E[3 * r + k] * T[4 * k + 3];
        p[r] = v;
        for (int col = 0; col < 3; col++) {
            double w = 0.0;
            for (int k = 0; k < 3; k++)
                w += E[3 * r + k] * T[4 * k + col];
            R[3 * r + col] = w;
        }
    }
    *phi = 0.0;
    if (n->azimuth[0]) {
        const double a = atan2(p[1], p[0]);
        const double ca = cos(a), sa = sin(a);
        *phi = a;
        p[0] = ca * p[0] + sa * p[1];
        p[1] = 0.0;
        for (int col = 0; col < 3; col++) {
            const double r0 = R[col], r1 = R[3 + col];
            R[col] = ca * r0 + sa * r1;
            R[3 + col] = -sa * r0 + ca * r1;
        }
    }
    for (int r = 0; r < 3; r++)
        out[r] = (float)(p[r] * E[12]);
    for (int col = 0; col < 3; col++)
        for (int r = 0; r < 3; r++)
            out[3 + 3 * col + r] = position_only ? 0.0f : (float)R[3 * r + col];
    out[IKNN_N_FEATURES - 1] = position_only ? 0.0f : 1.0f;
    return 1;
}

void iknn_decode(const IknnNetwork *n, const float *raw, double phi, const double *ref,
                 double *out)
{
    const int dof = n->dof[0], K = n->K[0], M = n->M[0];
    for (int k = 0; k < K; k++) {
        const float *h = raw + k * M;
        for (int j = 0; j < dof; j++) {
            double v;
            if (n->periodic[j]) {
                double a = atan2((double)h[n->first[j]], (double)h[n->second[j]]);
                if (j == 0)
                    a += phi;
                /* the whole-turn representative nearest ref, inside the limits */
                const double d = a - ref[j];
                v = ref[j] + (d - TWO_PI * nearbyint(d / TWO_PI));
                if (v > n->upper[j])
                    v -= TWO_PI;
                if (v < n->lower[j])
                    v += TWO_PI;
            } else {
                double u = (double)h[n->first[j]];
                u = u > 1.0 ? 1.0 : (u < -1.0 ? -1.0 : u);
                v = n->mid[j] + n->half[j] * u;
            }
            out[k * dof + j] = v;
        }
    }
}
