/* ik_nn._kernels: the Python face of the compiled kernels.
 *
 * Every function takes a few named inputs: packed constants (chain, settings, network: the
 * records of contract.h, built by ik_nn/contract.py) and C-contiguous arrays with the shapes
 * below. Shapes, dtypes and record sizes are checked here; the compute runs with the GIL
 * released, so Python threads can run several calls at once.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <string.h>

#include "iknn.h"

/* ------------------------------------------------------------------ argument checking */
#define MAX_BUFS 16
typedef struct {
    Py_buffer b[MAX_BUFS];
    int n;
} Bufs;

static void release(Bufs *bs)
{
    for (int i = 0; i < bs->n; i++)
        PyBuffer_Release(&bs->b[i]);
    bs->n = 0;
}

/* A record of `size` bytes (a packed contract structure). */
static const void *record(Bufs *bs, PyObject *o, Py_ssize_t size, const char *name)
{
    Py_buffer *v = &bs->b[bs->n];
    if (PyObject_GetBuffer(o, v, PyBUF_C_CONTIGUOUS) < 0)
        return NULL;
    bs->n++;
    if (v->len != size) {
        PyErr_Format(PyExc_ValueError, "%s: expected a packed record of %zd bytes, got %zd "
                     "(build it with ik_nn.contract)", name, size, v->len);
        return NULL;
    }
    return v->buf;
}

/* A C-contiguous array of `kind` ('d' float64, 'f' float32, 'q' int64, '?' bool) whose
 * shape matches `shape` (-1: any; the sizes found are written back). NULL for None when
 * `optional`. */
static void *array(Bufs *bs, PyObject *o, char kind, int writable, int ndim, Py_ssize_t *shape,
                   const char *name, int optional, int *err)
{
    *err = 0;
    if (o == Py_None && optional)
        return NULL;
    Py_buffer *v = &bs->b[bs->n];
    int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0);
    if (PyObject_GetBuffer(o, v, flags) < 0) {
        *err = 1;
        return NULL;
    }
    bs->n++;
    const char *f = v->format ? v->format : "B";
    char got = f[strlen(f) - 1];
    Py_ssize_t want_size = kind == 'd' || kind == 'q' ? 8 : kind == 'f' ? 4 : 1;
    int ok = v->itemsize == want_size;
    if (kind == 'd')
        ok = ok && got == 'd';
    else if (kind == 'f')
        ok = ok && got == 'f';
    else if (kind == 'q')
        ok = ok && (got == 'q' || got == 'l');
    else
        ok = ok && (got == '?' || got == 'B' || got == 'b');
    if (!ok) {
        PyErr_Format(PyExc_TypeError, "%s: expected a %s array, got format '%s'", name,
                     kind == 'd' ? "float64" : kind == 'f' ? "float32" : kind == 'q' ? "int64"
                                                                                    : "bool",
                     f);
        *err = 1;
        return NULL;
    }
    if (v->ndim != ndim) {
        PyErr_Format(PyExc_ValueError, "%s: expected %d dimensions, got %d", name, ndim,
                     v->ndim);
        *err = 1;
        return NULL;
    }
    for (int d = 0; d < ndim; d++) {
        if (shape[d] >= 0 && v->shape[d] != shape[d]) {
            PyErr_Format(PyExc_ValueError, "%s: dimension %d is %zd, expected %zd", name, d,
                         v->shape[d], shape[d]);
            *err = 1;
            return NULL;
        }
        shape[d] = v->shape[d];
    }
    return v->buf;
}

#define ARRAY(var, type, obj, kind, wr, name, opt, ...)                                      \
    Py_ssize_t var##_shape[] = {__VA_ARGS__};                                                 \
    type *var = (type *)array(&bs, obj, kind, wr, (int)(sizeof(var##_shape) /               \
                              sizeof(Py_ssize_t)), var##_shape, name, opt, &err);            \
    if (err)                                                                                  \
        goto fail;

#define RECORD(var, type, obj, name)                                                          \
    const type *var = (const type *)record(&bs, obj, sizeof(type), name);                     \
    if (!var)                                                                                 \
        goto fail;

static int check_dof(const IknnChain *c)
{
    if (c->dof[0] < 1 || c->dof[0] > IKNN_MAX_DOF) {
        PyErr_Format(PyExc_ValueError, "chain: dof %d outside 1..%d", c->dof[0], IKNN_MAX_DOF);
        return 0;
    }
    return 1;
}

/* ------------------------------------------------------------------ kinematics */
static PyObject *py_fk(PyObject *self, PyObject *args, PyObject *kw)
{
    static char *names[] = {"chain", "q", "out", NULL};
    PyObject *oc, *oq, *oo;
    Bufs bs = {.n = 0};
    int err;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "OOO", names, &oc, &oq, &oo))
        return NULL;
    RECORD(c, IknnChain, oc, "chain");
    if (!check_dof(c))
        goto fail;
    ARRAY(q, double, oq, 'd', 0, "q", 0, -1, c->dof[0]);
    ARRAY(out, double, oo, 'd', 1, "out", 0, q_shape[0], 4, 4);
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t k = 0; k < q_shape[0]; k++) {
        IknnPose pose;
        double *T = out + 16 * k;
        iknn_chain(c, q + k * c->dof[0], &pose, NULL, NULL);
        for (int r = 0; r < 3; r++) {
            T[4 * r] = pose.R[3 * r];
            T[4 * r + 1] = pose.R[3 * r + 1];
            T[4 * r + 2] = pose.R[3 * r + 2];
            T[4 * r + 3] = pose.p[r];
        }
        T[12] = T[13] = T[14] = 0.0;
        T[15] = 1.0;
    }
    Py_END_ALLOW_THREADS
    release(&bs);
    Py_RETURN_NONE;
fail:
    release(&bs);
    return NULL;
}

static PyObject *py_jacobian(PyObject *self, PyObject *args, PyObject *kw)
{
    static char *names[] = {"chain", "q", "out", "axes", "origins", NULL};
    PyObject *oc, *oq, *oo = Py_None, *oa = Py_None, *og = Py_None;
    Bufs bs = {.n = 0};
    int err;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "OO|OOO", names, &oc, &oq, &oo, &oa, &og))
        return NULL;
    RECORD(c, IknnChain, oc, "chain");
    if (!check_dof(c))
        goto fail;
    const int dof = c->dof[0];
    ARRAY(q, double, oq, 'd', 0, "q", 0, -1, dof);
    ARRAY(J, double, oo, 'd', 1, "out", 1, q_shape[0], 6, dof);
    ARRAY(A, double, oa, 'd', 1, "axes", 1, q_shape[0], dof, 3);
    ARRAY(O, double, og, 'd', 1, "origins", 1, q_shape[0], dof, 3);
    if ((A == NULL) != (O == NULL)) {
        PyErr_SetString(PyExc_ValueError, "axes and origins go together");
        goto fail;
    }
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t k = 0; k < q_shape[0]; k++) {
        IknnPose pose;
        double axes[3 * IKNN_MAX_DOF], origins[3 * IKNN_MAX_DOF];
        iknn_chain(c, q + k * dof, &pose, axes, origins);
        if (J)
            iknn_jacobian(c, pose.p, axes, origins, J + 6 * dof * k);
        if (A) {
            memcpy(A + 3 * dof * k, axes, sizeof(double) * 3 * dof);
            memcpy(O + 3 * dof * k, origins, sizeof(double) * 3 * dof);
        }
    }
    Py_END_ALLOW_THREADS
    release(&bs);
    Py_RETURN_NONE;
fail:
    release(&bs);
    return NULL;
}

static PyObject *py_pose_error(PyObject *self, PyObject *args, PyObject *kw)
{
    static char *names[] = {"targets", "poses", "pos_err", "rot_err", NULL};
    PyObject *ot, *op, *ope, *ore;
    Bufs bs = {.n = 0};
    int err;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "OOOO", names, &ot, &op, &ope, &ore))
        return NULL;
    ARRAY(Tt, double, ot, 'd', 0, "targets", 0, -1, 4, 4);
    ARRAY(T, double, op, 'd', 0, "poses", 0, Tt_shape[0], 4, 4);
    ARRAY(pe, double, ope, 'd', 1, "pos_err", 0, Tt_shape[0]);
    ARRAY(re, double, ore, 'd', 1, "rot_err", 0, Tt_shape[0]);
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t k = 0; k < Tt_shape[0]; k++) {
        IknnPose a, b;
        double w[3];
        iknn_pose_from(Tt + 16 * k, &a);
        iknn_pose_from(T + 16 * k, &b);
        const double dx = a.p[0] - b.p[0], dy = a.p[1] - b.p[1], dz = a.p[2] - b.p[2];
        pe[k] = sqrt(dx * dx + dy * dy + dz * dz);
        re[k] = iknn_rotation_log(a.R, b.R, w);
    }
    Py_END_ALLOW_THREADS
    release(&bs);
    Py_RETURN_NONE;
fail:
    release(&bs);
    return NULL;
}

static PyObject *py_rotation_log(PyObject *self, PyObject *args, PyObject *kw)
{
    static char *names[] = {"R_target", "R", NULL};
    PyObject *ot, *oR;
    Bufs bs = {.n = 0};
    int err;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "OO", names, &ot, &oR))
        return NULL;
    ARRAY(Rt, double, ot, 'd', 0, "R_target", 0, 3, 3);
    ARRAY(R, double, oR, 'd', 0, "R", 0, 3, 3);
    double w[3];
    double angle = iknn_rotation_log(Rt, R, w);
    release(&bs);
    return Py_BuildValue("(d(ddd))", angle, w[0], w[1], w[2]);
fail:
    release(&bs);
    return NULL;
}

/* Index of the first pose that is not a proper rigid transform, and why; None if all are. */
static PyObject *py_check_poses(PyObject *self, PyObject *args, PyObject *kw)
{
    static char *names[] = {"targets", "tol", NULL};
    PyObject *ot;
    double tol;
    Bufs bs = {.n = 0};
    int err;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "Od", names, &ot, &tol))
        return NULL;
    ARRAY(T, double, ot, 'd', 0, "targets", 0, -1, 4, 4);
    Py_ssize_t bad = -1;
    const char *why = NULL;
    double worst = 0.0;
    for (Py_ssize_t k = 0; k < T_shape[0] && bad < 0; k++) {
        const double *A = T + 16 * k;
        for (int i = 0; i < 16; i++)
            if (!isfinite(A[i])) {
                bad = k;
                why = "non_finite";
                break;
            }
        if (bad >= 0)
            break;
        if (A[12] != 0.0 || A[13] != 0.0 || A[14] != 0.0 || A[15] != 1.0) {
            bad = k;
            why = "bottom_row";
            break;
        }
        double dev = 0.0; /* max |R^T R - I| */
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 3; j++) {
                double s = A[i] * A[j] + A[4 + i] * A[4 + j] + A[8 + i] * A[8 + j];
                dev = fmax(dev, fabs(s - (i == j ? 1.0 : 0.0)));
            }
        const double det = A[0] * (A[5] * A[10] - A[6] * A[9]) -
                           A[1] * (A[4] * A[10] - A[6] * A[8]) +
                           A[2] * (A[4] * A[9] - A[5] * A[8]);
        if (det < 0.0) {
            bad = k;
            why = "reflection";
            worst = det;
        } else if (dev > tol) {
            bad = k;
            why = "not_orthonormal";
            worst = dev;
        }
    }
    release(&bs);
    if (bad < 0)
        Py_RETURN_NONE;
    return Py_BuildValue("(nsd)", bad, why, worst);
fail:
    release(&bs);
    return NULL;
}

static PyObject *py_all_finite(PyObject *self, PyObject *args, PyObject *kw)
{
    static char *names[] = {"a", NULL};
    PyObject *oa;
    Py_buffer v;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O", names, &oa))
        return NULL;
    if (PyObject_GetBuffer(oa, &v, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0)
        return NULL;
    int ok = 1;
    if (v.itemsize != 8 || !v.format || v.format[strlen(v.format) - 1] != 'd') {
        PyBuffer_Release(&v);
        PyErr_SetString(PyExc_TypeError, "a: expected a float64 array");
        return NULL;
    }
    const double *x = v.buf;
    for (Py_ssize_t i = 0; i < v.len / 8; i++)
        if (!isfinite(x[i])) {
            ok = 0;
            break;
        }
    PyBuffer_Release(&v);
    return PyBool_FromLong(ok);
}

/* ------------------------------------------------------------------ network encoding */
static PyObject *py_encode(PyObject *self, PyObject *args, PyObject *kw)
{
    static char *names[] = {"network", "targets", "position_only", "features", "phi", NULL};
    PyObject *on, *ot, *of, *op;
    int po;
    Bufs bs = {.n = 0};
    int err, ok = 1;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "OOpOO", names, &on, &ot, &po, &of, &op))
        return NULL;
    RECORD(n, IknnNetwork, on, "network");
    ARRAY(T, double, ot, 'd', 0, "targets", 0, -1, 4, 4);
    ARRAY(x, float, of, 'f', 1, "features", 0, T_shape[0], IKNN_N_FEATURES);
    ARRAY(phi, double, op, 'd', 1, "phi", 0, T_shape[0]);
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t k = 0; k < T_shape[0] && ok; k++)
        ok = iknn_encode(n, T + 16 * k, po, x + IKNN_N_FEATURES * k, phi + k);
    Py_END_ALLOW_THREADS
    release(&bs);
    return PyBool_FromLong(ok);
fail:
    release(&bs);
    return NULL;
}

static PyObject *py_decode(PyObject *self, PyObject *args, PyObject *kw)
{
    static char *names[] = {"network", "raw", "phi", "ref", "out", NULL};
    PyObject *on, *orw, *op, *orf, *oo;
    Bufs bs = {.n = 0};
    int err;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "OOOOO", names, &on, &orw, &op, &orf, &oo))
        return NULL;
    RECORD(n, IknnNetwork, on, "network");
    const int dof = n->dof[0], K = n->K[0];
    ARRAY(raw, float, orw, 'f', 0, "raw", 0, -1, (Py_ssize_t)K * n->M[0]);
    const Py_ssize_t N = raw_shape[0];
    ARRAY(phi, double, op, 'd', 0, "phi", 0, N);
    ARRAY(ref, double, orf, 'd', 0, "ref", 0, -1, dof);
    ARRAY(out, double, oo, 'd', 1, "out", 0, N, K, dof);
    if (ref_shape[0] != 1 && ref_shape[0] != N) {
        PyErr_Format(PyExc_ValueError, "ref: %zd rows, expected 1 or %zd", ref_shape[0], N);
        goto fail;
    }
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t k = 0; k < N; k++)
        iknn_decode(n, raw + (Py_ssize_t)K * n->M[0] * k, phi[k],
                    ref + (ref_shape[0] == 1 ? 0 : dof * k), out + (Py_ssize_t)K * dof * k);
    Py_END_ALLOW_THREADS
    release(&bs);
    Py_RETURN_NONE;
fail:
    release(&bs);
    return NULL;
}

/* ------------------------------------------------------------------ solving */
static PyObject *py_lm(PyObject *self, PyObject *args, PyObject *kw)
{
    static char *names[] = {"chain", "settings", "target", "q", NULL};
    PyObject *oc, *os, *ot, *oq;
    Bufs bs = {.n = 0};
    int err;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "OOOO", names, &oc, &os, &ot, &oq))
        return NULL;
    RECORD(c, IknnChain, oc, "chain");
    RECORD(s, IknnSettings, os, "settings");
    if (!check_dof(c))
        goto fail;
    ARRAY(T, double, ot, 'd', 0, "target", 0, 4, 4);
    ARRAY(q, double, oq, 'd', 1, "q", 0, c->dof[0]);
    IknnPose target;
    IknnOutcome o;
    iknn_pose_from(T, &target);
    Py_BEGIN_ALLOW_THREADS
    iknn_lm(c, s, &target, q, 1, &o); /* plain LM: patient */
    Py_END_ALLOW_THREADS
    release(&bs);
    return Py_BuildValue("(Odddl)", o.success ? Py_True : Py_False, o.pos_err, o.rot_err,
                         o.cost, (long)o.iterations);
fail:
    release(&bs);
    return NULL;
}

static PyObject *py_rank(PyObject *self, PyObject *args, PyObject *kw)
{
    static char *names[] = {"chain", "settings", "targets", "hypotheses", "seeds", "order",
                            "score", NULL};
    PyObject *oc, *os, *ot, *oh, *osd, *oo, *osc;
    Bufs bs = {.n = 0};
    int err;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "OOOOOOO", names, &oc, &os, &ot, &oh, &osd,
                                     &oo, &osc))
        return NULL;
    RECORD(c, IknnChain, oc, "chain");
    RECORD(s, IknnSettings, os, "settings");
    if (!check_dof(c))
        goto fail;
    const int dof = c->dof[0];
    ARRAY(T, double, ot, 'd', 0, "targets", 0, -1, 4, 4);
    const Py_ssize_t N = T_shape[0];
    ARRAY(H, double, oh, 'd', 0, "hypotheses", 0, N, -1, dof);
    const Py_ssize_t K = H_shape[1];
    ARRAY(seed, double, osd, 'd', 0, "seeds", 1, N, dof);
    ARRAY(order, int64_t, oo, 'q', 1, "order", 0, N, K);
    ARRAY(score, double, osc, 'd', 1, "score", 0, N, K);
    if (K < 1 || K > IKNN_MAX_K) {
        PyErr_Format(PyExc_ValueError, "hypotheses: K = %zd outside 1..%d", K, IKNN_MAX_K);
        goto fail;
    }
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t k = 0; k < N; k++) {
        IknnPose target;
        iknn_pose_from(T + 16 * k, &target);
        iknn_rank(c, s, &target, H + K * dof * k, (int)K, seed ? seed + dof * k : NULL,
                  order + K * k, score + K * k);
    }
    Py_END_ALLOW_THREADS
    release(&bs);
    Py_RETURN_NONE;
fail:
    release(&bs);
    return NULL;
}

static PyObject *py_solve(PyObject *self, PyObject *args, PyObject *kw)
{
    static char *names[] = {"chain", "settings", "targets", "hypotheses", "seeds", "result",
                            "stage", "need", NULL};
    PyObject *oc, *os, *ot, *oh, *osd, *orr, *oneed = Py_None;
    int stage = IKNN_FULL;
    PyObject *attr[6] = {NULL, NULL, NULL, NULL, NULL, NULL};
    static const char *fields[6] = {"q", "success", "pos_err", "rot_err", "iterations", "jump"};
    Bufs bs = {.n = 0};
    int err;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "OOOOOO|iO", names, &oc, &os, &ot, &oh, &osd,
                                     &orr, &stage, &oneed))
        return NULL;
    if (stage < IKNN_FULL || stage > IKNN_RESUME) {
        PyErr_Format(PyExc_ValueError, "stage %d: expected 0 (full), 1 (first start only), 2 (resume)",
                     stage);
        return NULL;
    }
    for (int i = 0; i < 6; i++)
        if (!(attr[i] = PyObject_GetAttrString(orr, fields[i])))
            goto fail;
    RECORD(c, IknnChain, oc, "chain");
    RECORD(s, IknnSettings, os, "settings");
    if (!check_dof(c))
        goto fail;
    const int dof = c->dof[0];
    ARRAY(T, double, ot, 'd', 0, "targets", 0, -1, 4, 4);
    const Py_ssize_t N = T_shape[0];
    ARRAY(H, double, oh, 'd', 0, "hypotheses", 1, N, -1, dof);
    const Py_ssize_t K = H ? H_shape[1] : 0;
    ARRAY(seed, double, osd, 'd', 0, "seeds", 1, N, dof);
    ARRAY(q, double, attr[0], 'd', 1, "result.q", 0, N, dof);
    ARRAY(ok, uint8_t, attr[1], '?', 1, "result.success", 0, N);
    ARRAY(pe, double, attr[2], 'd', 1, "result.pos_err", 0, N);
    ARRAY(re, double, attr[3], 'd', 1, "result.rot_err", 0, N);
    ARRAY(its, int64_t, attr[4], 'q', 1, "result.iterations", 0, N);
    ARRAY(jump, double, attr[5], 'd', 1, "result.jump", 0, N);
    ARRAY(need, uint8_t, oneed, '?', 1, "need", 1, N);
    if (H && (K < 1 || K > IKNN_MAX_K)) {
        PyErr_Format(PyExc_ValueError, "hypotheses: K = %zd outside 1..%d", K, IKNN_MAX_K);
        goto fail;
    }
    Py_ssize_t failing = 0;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t k = 0; k < N; k++) {
        IknnAnswer a;
        if (stage == IKNN_RESUME) {
            memcpy(a.q, q + dof * k, sizeof(double) * dof);
            a.success = ok[k];
            a.pos_err = pe[k];
            a.rot_err = re[k];
            a.iterations = its[k];
        }
        iknn_solve_target(c, s, T + 16 * k, H ? H + K * dof * k : NULL, (int)K,
                          seed ? seed + dof * k : NULL, stage, &a);
        memcpy(q + dof * k, a.q, sizeof(double) * dof);
        ok[k] = (uint8_t)a.success;
        pe[k] = a.pos_err;
        re[k] = s->position_only[0] ? 0.0 : a.rot_err;
        its[k] = a.iterations;
        jump[k] = a.jump;
        const int more = stage == IKNN_FIRST_ONLY && seed
                             ? !a.success || iknn_joint_distance(c, a.q, seed + dof * k) >
                                                 s->continuity_tol[0]
                             : !a.success;
        if (need)
            need[k] = (uint8_t)more;
        failing += more;
    }
    Py_END_ALLOW_THREADS
    release(&bs);
    for (int i = 0; i < 6; i++)
        Py_XDECREF(attr[i]);
    return PyLong_FromSsize_t(failing);
fail:
    release(&bs);
    for (int i = 0; i < 6; i++)
        Py_XDECREF(attr[i]);
    return NULL;
}

/* ------------------------------------------------------------------ the contract */
static int add_field(PyObject *list, const char *name, size_t offset, const char *type,
                     int count, const char *doc)
{
    PyObject *item = Py_BuildValue("(snsis)", name, (Py_ssize_t)offset, type, count, doc);
    if (!item)
        return -1;
    int r = PyList_Append(list, item);
    Py_DECREF(item);
    return r;
}

static PyObject *layout_of(const char *which)
{
    PyObject *list = PyList_New(0);
    Py_ssize_t size = 0;
    if (!list)
        return NULL;
#define F_CHAIN(t, name, count, doc)                                                          \
    if (add_field(list, #name, offsetof(IknnChain, name), IKNN_S_##t, count, doc) < 0)       \
        goto fail;
#define F_SETTINGS(t, name, count, doc)                                                       \
    if (add_field(list, #name, offsetof(IknnSettings, name), IKNN_S_##t, count, doc) < 0)    \
        goto fail;
#define F_NETWORK(t, name, count, doc)                                                        \
    if (add_field(list, #name, offsetof(IknnNetwork, name), IKNN_S_##t, count, doc) < 0)     \
        goto fail;
    if (!strcmp(which, "Chain")) {
        IKNN_CHAIN_FIELDS(F_CHAIN)
        size = sizeof(IknnChain);
    } else if (!strcmp(which, "Settings")) {
        IKNN_SETTINGS_FIELDS(F_SETTINGS)
        size = sizeof(IknnSettings);
    } else {
        IKNN_NETWORK_FIELDS(F_NETWORK)
        size = sizeof(IknnNetwork);
    }
    PyObject *out = Py_BuildValue("(nN)", size, list);
    return out;
fail:
    Py_DECREF(list);
    return NULL;
}

static PyObject *py_layouts(PyObject *self, PyObject *unused)
{
    PyObject *d = PyDict_New();
    const char *which[3] = {"Chain", "Settings", "Network"};
    for (int i = 0; i < 3; i++) {
        PyObject *v = layout_of(which[i]);
        if (!v || PyDict_SetItemString(d, which[i], v) < 0) {
            Py_XDECREF(v);
            Py_DECREF(d);
            return NULL;
        }
        Py_DECREF(v);
    }
    return d;
}

static PyMethodDef methods[] = {
    {"layouts", py_layouts, METH_NOARGS,
     "layouts() -> {name: (size, [(field, offset, dtype, count, description)])}: the records "
     "of contract.h"},
    {"fk", (PyCFunction)(void (*)(void))py_fk, METH_VARARGS | METH_KEYWORDS,
     "fk(chain, q (N, dof), out (N, 4, 4)): tool poses, metres"},
    {"jacobian", (PyCFunction)(void (*)(void))py_jacobian, METH_VARARGS | METH_KEYWORDS,
     "jacobian(chain, q (N, dof), out=(N, 6, dof), axes=(N, dof, 3), origins=(N, dof, 3)): "
     "geometric Jacobians (rows [v; w], base frame) and/or joint axes and points on them"},
    {"pose_error", (PyCFunction)(void (*)(void))py_pose_error, METH_VARARGS | METH_KEYWORDS,
     "pose_error(targets (N, 4, 4), poses (N, 4, 4), pos_err (N,), rot_err (N,))"},
    {"rotation_log", (PyCFunction)(void (*)(void))py_rotation_log,
     METH_VARARGS | METH_KEYWORDS,
     "rotation_log(R_target (3, 3), R (3, 3)) -> (angle, (wx, wy, wz)) of R_target R^T"},
    {"check_poses", (PyCFunction)(void (*)(void))py_check_poses, METH_VARARGS | METH_KEYWORDS,
     "check_poses(targets (N, 4, 4), tol) -> None, or (index, reason, value) of the first "
     "pose that is not a rigid transform"},
    {"all_finite", (PyCFunction)(void (*)(void))py_all_finite, METH_VARARGS | METH_KEYWORDS,
     "all_finite(a float64) -> bool"},
    {"encode", (PyCFunction)(void (*)(void))py_encode, METH_VARARGS | METH_KEYWORDS,
     "encode(network, targets (N, 4, 4), position_only, features (N, F) float32, phi (N,)) "
     "-> False if a pose is not finite"},
    {"decode", (PyCFunction)(void (*)(void))py_decode, METH_VARARGS | METH_KEYWORDS,
     "decode(network, raw (N, K*M) float32, phi (N,), ref (1 or N, dof), out (N, K, dof))"},
    {"lm", (PyCFunction)(void (*)(void))py_lm, METH_VARARGS | METH_KEYWORDS,
     "lm(chain, settings, target (4, 4), q (dof,)) -> (success, pos_err, rot_err, cost, "
     "iterations); q refined in place"},
    {"rank", (PyCFunction)(void (*)(void))py_rank, METH_VARARGS | METH_KEYWORDS,
     "rank(chain, settings, targets (N, 4, 4), hypotheses (N, K, dof), seeds (N, dof) or "
     "None, order (N, K) int64, score (N, K))"},
    {"solve", (PyCFunction)(void (*)(void))py_solve, METH_VARARGS | METH_KEYWORDS,
     "solve(chain, settings, targets (N, 4, 4), hypotheses (N, K, dof) or None, seeds "
     "(N, dof) or None, result, stage=0, need=None (N,) bool) -> targets still failing "
     "(stage 1: needing more than their first start, flagged in need); fills result.q, .success, .pos_err, .rot_err, .iterations, .jump. "
     "stage: 0 the whole policy, 1 the first start only (seed, else mid-limits), 2 resume after stage 1"},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_kernels",
                                    "Compiled kernels of ik_nn (see ik_nn/kernels/).", -1,
                                    methods};

PyMODINIT_FUNC PyInit__kernels(void)
{
    PyObject *m = PyModule_Create(&module);
    if (!m)
        return NULL;
    PyModule_AddIntConstant(m, "MAX_DOF", IKNN_MAX_DOF);
    PyModule_AddIntConstant(m, "MAX_K", IKNN_MAX_K);
    PyModule_AddIntConstant(m, "N_FEATURES", IKNN_N_FEATURES);
    return m;
}
