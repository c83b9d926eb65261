/* Internal interfaces between the kernel files (Python never sees these). */
#ifndef IKNN_H
#define IKNN_H

#include "contract.h"

/* A target pose, row-major: R (3x3) and p (3,), metres. */
typedef struct {
    double R[9];
    double p[3];
} IknnPose;

/* Outcome of one LM attempt. */
typedef struct {
    int success;
    double pos_err, rot_err, cost;
    int64_t iterations;
} IknnOutcome;

/* chain.c: forward kinematics of one configuration. Writes the tool pose; when axes and
 * origins (dof x 3, base frame) are not NULL, also each joint's unit axis and a point on it. */
void iknn_chain(const IknnChain *c, const double *q, IknnPose *tool, double *axes,
                double *origins);
/* Geometric Jacobian J (6 x dof, row-major) of the tool point from the recorded axes. */
void iknn_jacobian(const IknnChain *c, const double *p, const double *axes,
                   const double *origins, double *J);
/* Rotation vector w with exp([w]) = Rt R^T (row-major 3x3 each); returns its angle. */
double iknn_rotation_log(const double *Rt, const double *R, double *w);
/* Copy of a (4, 4) row-major pose into an IknnPose. */
void iknn_pose_from(const double *T, IknnPose *pose);

/* lm.c: refine q (dof,) in place towards the target; one start, no policy. An impatient
 * attempt (patient 0) also stops when it creeps (see lm.c). */
void iknn_lm(const IknnChain *c, const IknnSettings *s, const IknnPose *target, double *q,
             int patient, IknnOutcome *out);
/* The task error the LM minimises, for a pose reached: returns the cost 1/2 |e|^2. */
double iknn_residual(const IknnChain *c, int position_only, const IknnPose *target,
                     const IknnPose *reached, double *e, double *pos_err, double *rot_err);

/* candidates.c: the solve policy for one target (see ik_nn/candidates.py). */
typedef struct {
    double q[IKNN_MAX_DOF];
    int success;
    double pos_err, rot_err, cost;
    double jump; /* largest joint change from the seed; NAN without one */
    int64_t iterations;
} IknnAnswer;

/* Stages of iknn_solve_target: the whole policy; the first start only (the seed, or without
 * one the middle of the limits), so the caller can skip the network where it was enough; the
 * rest (hypotheses, restarts, wrapping), resuming from the first start's answer. */
enum { IKNN_FULL = 0, IKNN_FIRST_ONLY = 1, IKNN_RESUME = 2 };
void iknn_solve_target(const IknnChain *c, const IknnSettings *s, const double *T,
                       const double *H, int K, const double *seed, int stage, IknnAnswer *ans);
/* Largest joint difference between a and b (dof,), periodic joints modulo 2 pi. */
double iknn_joint_distance(const IknnChain *c, const double *a, const double *b);
void iknn_rank(const IknnChain *c, const IknnSettings *s, const IknnPose *target,
               const double *H, int K, const double *seed, int64_t *order, double *score);

/* encoding.c: the compiled twins of ik_nn/encoding.py's encode_pose and decode. */
int iknn_encode(const IknnNetwork *n, const double *T, int position_only, float *features,
                double *phi);
void iknn_decode(const IknnNetwork *n, const float *raw, double phi, const double *ref,
                 double *out);

#endif
