/* The solve policy for one target: which starts the LM gets, in which order, and which
 * answer is kept (ik_nn/candidates.py states the same rules for Python readers).
 *
 *  1. the seed (the arm's current joints), when given: continuing from where the arm is gives
 *     the nearest solution on its branch. Kept as final when it converges without moving any
 *     joint more than continuity_tol. An attempt that stalls with joints on a limit goes on
 *     (twice at most) from where it stopped, those joints moved LIMIT_MARGIN inside;
 *  2. the network's K hypotheses, when given, ranked (iknn_rank) and refined in that order
 *     until one converges;
 *  3. without a seed, the middle of the joint limits: before the hypotheses when the caller
 *     stages the solve (IKNN_FIRST_ONLY, then the network only where it failed), else only
 *     when there are no hypotheses;
 *  4. random restarts inside the limits while the target still fails, up to max_restarts and
 *     the timeout cap. The stream is a function of the pose and random_seed alone, so a
 *     target gets the same answer in any batch, at any load, while the cap does not bind.
 *     None for a target farther from the first joint's origin than the arm's reach (an
 *     upper bound): no start can solve it, so it fails at once with its best answer;
 *  5. with a seed, periodic joints are moved by whole turns to the representative inside
 *     the limits nearest the seed (the pose is unchanged; errors are recomputed).
 *
 * Every start but the seed that fails held at a limit of a joint whose range is nearly a full
 * turn goes on once from that joint's other limit (attempt_across_gap).
 *
 * Keeping: a converged attempt replaces an unconverged answer; between converged ones, the
 * one nearer the seed (when there is one) wins; between unconverged ones, the lower cost.
 */
#include <math.h>
#include <string.h>
#include <time.h>

#include "iknn.h"

#define TWO_PI 6.283185307179586
#define LIMIT_MARGIN 0.1 /* rad (or m): how far a seed at a limit is moved inside for step 1b */
#define LIMIT_TOUCH 1e-9 /* rad: an attempt's joint this near a limit is held there */
#define WRAP_GAP 0.6     /* rad: a range this close to a full turn is crossed at its gap */

/* The whole-turn representative of a periodic joint's value v inside [lo, hi] nearest ref. */
static double nearest_turn(double v, double ref, double lo, double hi)
{
    v += TWO_PI * nearbyint((ref - v) / TWO_PI);
    while (v > hi)
        v -= TWO_PI;
    while (v < lo)
        v += TWO_PI;
    return v;
}

/* How far the arm moves from b to a: the largest joint difference, periodic joints taken at
 * their whole-turn representative inside the limits nearest b (a turn the limits forbid
 * counts in full: the arm would have to unwind it). */
double iknn_joint_distance(const IknnChain *c, const double *a, const double *b)
{
    double d = 0.0;
    for (int i = 0; i < c->dof[0]; i++) {
        double v = a[i];
        if (c->periodic[i])
            v = nearest_turn(v, b[i], c->lower[i], c->upper[i]);
        d = fmax(d, fabs(v - b[i]));
    }
    return d;
}

/* One LM attempt from start (clipped into the limits), kept or not by the rules above; its
 * final joints go to `end` when given. Attempts from the seed are patient (run to
 * convergence, a lambda blow-up or the cap: the seed's branch is the one to keep); the other
 * starts are impatient (they also stop when they creep: lm.c). Returns whether it converged. */
static int attempt(const IknnChain *c, const IknnSettings *s, const IknnPose *target,
                   const double *start, const double *seed, int patient, IknnAnswer *ans,
                   double *end)
{
    const int dof = c->dof[0];
    double q[IKNN_MAX_DOF];
    IknnOutcome o;
    for (int i = 0; i < dof; i++)
        q[i] = fmin(fmax(start[i], c->lower[i]), c->upper[i]);
    iknn_lm(c, s, target, q, patient, &o);
    ans->iterations += o.iterations;
    if (end)
        memcpy(end, q, sizeof(double) * dof);
    int take;
    if (o.success && ans->success && seed)
        take = iknn_joint_distance(c, q, seed) < iknn_joint_distance(c, ans->q, seed);
    else
        take = o.success || (!ans->success && o.cost < ans->cost);
    if (take) {
        memcpy(ans->q, q, sizeof(double) * dof);
        ans->success = o.success;
        ans->pos_err = o.pos_err;
        ans->rot_err = o.rot_err;
        ans->cost = o.cost;
    }
    return o.success;
}

/* An impatient attempt, continued across a joint's gap: a revolute joint whose range falls
 * short of a full turn by less than WRAP_GAP (±170°: 0.35 rad) has its two limits a small
 * rotation apart the other way round. An attempt held at one of them has often been pulled
 * towards a solution just past it, i.e. just inside the other limit. So a failed attempt
 * ending on such a limit goes on once from the other one, the other joints where they
 * stopped. Not for the seed: the arm cannot cross the gap, it would turn the joint the long
 * way round. */
static int attempt_across_gap(const IknnChain *c, const IknnSettings *s,
                              const IknnPose *target, const double *start, const double *seed,
                              IknnAnswer *ans)
{
    double end[IKNN_MAX_DOF];
    if (attempt(c, s, target, start, seed, 0, ans, end))
        return 1;
    int moved = 0;
    for (int i = 0; i < c->dof[0]; i++) {
        const double lo = c->lower[i], hi = c->upper[i];
        if (c->kind[i] != 0 || c->periodic[i] || hi - lo < TWO_PI - WRAP_GAP)
            continue;
        if (end[i] >= hi - LIMIT_TOUCH) {
            end[i] = lo + LIMIT_MARGIN;
            moved = 1;
        } else if (end[i] <= lo + LIMIT_TOUCH) {
            end[i] = hi - LIMIT_MARGIN;
            moved = 1;
        }
    }
    return moved && attempt(c, s, target, end, seed, 0, ans, NULL);
}

void iknn_rank(const IknnChain *c, const IknnSettings *s, const IknnPose *target,
               const double *H, int K, const double *seed, int64_t *order, double *score)
{
    /* score = pos_err / reach + rot_err after FK; with a seed, the hypotheses within
     * branch_tol of the best score come first, nearest the seed first */
    const int dof = c->dof[0], po = s->position_only[0];
    double key[IKNN_MAX_K], e[6], pe, re, best = INFINITY;
    IknnPose pose;
    for (int j = 0; j < K; j++) {
        iknn_chain(c, H + j * dof, &pose, NULL, NULL);
        iknn_residual(c, po, target, &pose, e, &pe, &re);
        score[j] = pe * c->w_pos[0] + re;
        best = fmin(best, score[j]);
    }
    for (int j = 0; j < K; j++) {
        if (!seed)
            key[j] = score[j];
        else if (score[j] <= best + s->branch_tol[0])
            key[j] = iknn_joint_distance(c, H + j * dof, seed);
        else
            key[j] = 1e6 + score[j];
        if (isnan(key[j]))
            key[j] = INFINITY;
    }
    for (int j = 0; j < K; j++) { /* insertion sort: K is small; stable */
        int64_t v = j;
        int i = j - 1;
        while (i >= 0 && key[order[i]] > key[v]) {
            order[i + 1] = order[i];
            i--;
        }
        order[i + 1] = v;
    }
}

/* splitmix64: a small, good stream from any 64-bit state */
static uint64_t next_random(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static uint64_t pose_hash(const double *T, int64_t random_seed)
{
    uint64_t h = 0xCBF29CE484222325ull ^ (uint64_t)random_seed;
    for (int k = 0; k < 12; k++) {
        uint64_t bits;
        memcpy(&bits, T + k, sizeof bits);
        h = (h ^ bits) * 0x100000001B3ull;
        h ^= h >> 29;
    }
    return h;
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void wrap_to_seed(const IknnChain *c, const IknnSettings *s, const IknnPose *target,
                         const double *seed, IknnAnswer *ans)
{
    int moved = 0;
    for (int i = 0; i < c->dof[0]; i++) {
        if (!c->periodic[i])
            continue;
        const double v = nearest_turn(ans->q[i], seed[i], c->lower[i], c->upper[i]);
        if (v != ans->q[i]) {
            ans->q[i] = v;
            moved = 1;
        }
    }
    if (moved && isfinite(ans->pos_err)) { /* re-judge: rounding never hides behind a flag */
        IknnPose pose;
        double e[6];
        iknn_chain(c, ans->q, &pose, NULL, NULL);
        ans->cost = iknn_residual(c, s->position_only[0], target, &pose, e, &ans->pos_err,
                                  &ans->rot_err);
        ans->success = ans->pos_err <= s->pos_tol[0] && ans->rot_err <= s->rot_tol[0];
    }
}

/* Step 5 and the jump: periodic joints to the seed's turn, the step the arm has to make, and
 * no success beyond max_jump. */
static void finish(const IknnChain *c, const IknnSettings *s, const IknnPose *target,
                   const double *seed, IknnAnswer *ans)
{
    ans->jump = NAN;
    if (!seed)
        return;
    if (s->wrap_to_seed[0])
        wrap_to_seed(c, s, target, seed, ans);
    if (!isfinite(ans->pos_err))
        return;
    ans->jump = 0.0; /* what the arm has to move: no modulo here */
    for (int i = 0; i < c->dof[0]; i++)
        ans->jump = fmax(ans->jump, fabs(ans->q[i] - seed[i]));
    if (s->max_jump[0] > 0.0 && ans->jump > s->max_jump[0])
        ans->success = 0;
}

/* Step 3: one attempt from the middle of the joint limits. */
static void attempt_mid(const IknnChain *c, const IknnSettings *s, const IknnPose *target,
                        IknnAnswer *ans)
{
    double mid[IKNN_MAX_DOF];
    for (int i = 0; i < c->dof[0]; i++)
        mid[i] = 0.5 * (c->lower[i] + c->upper[i]);
    attempt_across_gap(c, s, target, mid, NULL, ans);
}

/* PHI[d]: the root of x^(d+1) = x + 1 (the golden ratio for d = 1), whose powers 1/PHI^(i+1)
 * step a d-dimensional Kronecker sequence (Roberts' R_d); index 0 unused. */
static const double PHI[IKNN_MAX_DOF + 1] = {
    0.0, 1.6180339887498949, 1.3247179572447461, 1.2207440846057596, 1.1673039782614187,
    1.1347241384015194, 1.1127756842787055, 1.0969815577985598, 1.0850702454914509,
    1.0757660660868371, 1.0682971889208412, 1.0621691678642551, 1.0570505752212285,
    1.0527109201475582, 1.0489849347570344, 1.0457510241563417, 1.0429177323017866};

/* Whether the target position lies farther than the reach (+ pos_tol) from F_0's origin:
 * the reach bounds every configuration's tool distance from there, so no start can solve it. */
static int beyond_reach(const IknnChain *c, const IknnSettings *s, const IknnPose *target)
{
    const double *f0 = c->fixed; /* F_0, 3x4 row-major: its translation is column 3 */
    const double dx = target->p[0] - f0[3], dy = target->p[1] - f0[7],
                 dz = target->p[2] - f0[11];
    return sqrt(dx * dx + dy * dy + dz * dz) > 1.0 / c->w_pos[0] + s->pos_tol[0];
}

void iknn_solve_target(const IknnChain *c, const IknnSettings *s, const double *T,
                       const double *H, int K, const double *seed, int stage, IknnAnswer *ans)
{
    const int dof = c->dof[0];
    IknnPose target;
    iknn_pose_from(T, &target);
    int done = 0;
    if (stage == IKNN_RESUME) {
        /* the first start ran in an IKNN_FIRST_ONLY call and left its answer in ans */
        if (isfinite(ans->pos_err)) {
            IknnPose pose;
            double e[6], pe, re;
            iknn_chain(c, ans->q, &pose, NULL, NULL);
            ans->cost = iknn_residual(c, s->position_only[0], &target, &pose, e, &pe, &re);
        } else {
            ans->cost = INFINITY;
        }
    } else {
        ans->success = 0;
        ans->pos_err = ans->rot_err = ans->cost = INFINITY;
        ans->iterations = 0;
        ans->jump = NAN;
        for (int i = 0; i < dof; i++)
            ans->q[i] = NAN;
        if (seed && attempt(c, s, &target, seed, seed, 1, ans, NULL))
            done = iknn_joint_distance(c, ans->q, seed) <= s->continuity_tol[0];
        for (int retry = 0; seed && !ans->success && retry < 2; retry++) {
            /* an attempt can stall on a limit while the solution next to it lies just inside:
             * go on from where it stopped, with the joints at a limit moved off it */
            double inner[IKNN_MAX_DOF];
            int moved = 0;
            for (int i = 0; i < dof; i++) {
                const double m = fmin(LIMIT_MARGIN, 0.25 * (c->upper[i] - c->lower[i]));
                /* first from the seed, then from where the attempt stopped */
                const double v = retry == 0 || !isfinite(ans->q[i]) ? seed[i] : ans->q[i];
                inner[i] = fmin(fmax(v, c->lower[i] + m), c->upper[i] - m);
                moved |= inner[i] != v;
            }
            if (!moved)
                break;
            if (attempt(c, s, &target, inner, seed, 1, ans, NULL))
                done = iknn_joint_distance(c, ans->q, seed) <= s->continuity_tol[0];
        }
        if (stage == IKNN_FIRST_ONLY) {
            if (!seed)
                attempt_mid(c, s, &target, ans);
            finish(c, s, &target, seed, ans);
            return;
        }
    }
    if (!done && H) {
        int64_t order[IKNN_MAX_K];
        double score[IKNN_MAX_K];
        iknn_rank(c, s, &target, H, K, seed, order, score);
        for (int j = 0; j < K; j++) {
            const double *h = H + order[j] * dof;
            /* with a seed, go on after a success with the hypotheses that start nearer the
             * seed than the answer so far: the nearest solution is the continuous one */
            if (ans->success && (!seed || iknn_joint_distance(c, h, seed) >=
                                              iknn_joint_distance(c, ans->q, seed)))
                continue;
            attempt_across_gap(c, s, &target, h, seed, ans);
            if (ans->success && !seed)
                break;
        }
    }
    if (!seed && !H && stage != IKNN_RESUME)
        attempt_mid(c, s, &target, ans);
    if (!ans->success && s->max_restarts[0] > 0 && !beyond_reach(c, s, &target)) {
        uint64_t state = pose_hash(T, s->random_seed[0]);
        const double cap = s->timeout[0];
        const double deadline = cap > 0.0 ? now_seconds() + cap : INFINITY;
        /* a low-discrepancy (Kronecker, golden-ratio generalised) sequence from a random
         * offset: the starts cover the joint box evenly instead of clumping */
        double start[IKNN_MAX_DOF], u0[IKNN_MAX_DOF], alpha[IKNN_MAX_DOF];
        const double phi = PHI[dof];
        for (int i = 0; i < dof; i++) {
            alpha[i] = fmod(pow(1.0 / phi, i + 1), 1.0);
            u0[i] = (double)(next_random(&state) >> 11) * 0x1.0p-53;
        }
        for (int r = 0; r < s->max_restarts[0] && !ans->success; r++) {
            if (cap > 0.0 && now_seconds() > deadline)
                break;
            for (int i = 0; i < dof; i++) {
                const double u = fmod(u0[i] + (r + 1) * alpha[i], 1.0);
                start[i] = c->lower[i] + u * (c->upper[i] - c->lower[i]);
            }
            attempt_across_gap(c, s, &target, start, seed, ans);
        }
    }
    finish(c, s, &target, seed, ans);
}
