/* The kernel contract: the constants every compiled kernel reads, declared once.
 *
 * Each structure is an X-macro list of fields (type, name, count, description). The list
 * defines the C struct the kernels read AND the table `_kernels.layouts()` hands to Python,
 * from which ik_nn/contract.py builds the numpy dtype that packs it. A field added,
 * removed or reordered here changes both sides at once; nothing else states an offset.
 *
 * Types: I32 int32, I64 int64, F64 double. Per-joint arrays are IKNN_MAX_DOF long and
 * filled from the front (joint 0 first); entries past `dof` are unused.
 */
#ifndef IKNN_CONTRACT_H
#define IKNN_CONTRACT_H

#include <stddef.h>
#include <stdint.h>

#define IKNN_MAX_DOF 16   /* joints per chain */
#define IKNN_MAX_K 64     /* network hypotheses per target */
#define IKNN_N_FEATURES 13 /* network input width, see ik_nn/encoding.py */

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

#define IKNN_T_I32 int32_t
#define IKNN_T_I64 int64_t
#define IKNN_T_F64 double
#define IKNN_S_I32 "<i4"
#define IKNN_S_I64 "<i8"
#define IKNN_S_F64 "<f8"

/* Chain: one arm's kinematics and limits (ik_nn/kinematics.py packs it).
 * Pose of the tool: F_0 M_0(q_0) F_1 M_1(q_1) ... F_{n-1} M_{n-1}(q_{n-1}) F_n, where F_i is
 * a fixed transform (F_0 includes the base, F_n is the tool) and M_i a rotation about (or a
 * translation along) the joint's unit axis by q_i + offset_i. */
#define IKNN_CHAIN_FIELDS(F)                                                                  \
    F(I32, dof, 1, "number of joints")                                                        \
    F(I32, kind, IKNN_MAX_DOF, "per joint: 0 revolute, 1 prismatic")                          \
    F(I32, axis_code, IKNN_MAX_DOF, "per joint: 0, 1, 2 when the axis is +-x, +-y, +-z of "  \
                                    "the joint frame (fast path), 3 any other unit axis")     \
    F(I32, periodic, IKNN_MAX_DOF, "per joint: 1 if its range spans a full turn or more")     \
    F(I32, rot_kind, IKNN_MAX_DOF + 1, "per fixed transform: 0 no rotation, 1 rotation "      \
                                       "about x (cos, sin in rot_cs), 2 any rotation")        \
    F(F64, axis, IKNN_MAX_DOF * 3, "per joint: unit axis (x, y, z) in the joint frame")       \
    F(F64, offset, IKNN_MAX_DOF, "per joint: added to q before the motion (rad or m)")        \
    F(F64, fixed, (IKNN_MAX_DOF + 1) * 12, "fixed transforms F_0..F_dof, 3x4 row-major "      \
                                           "[R | t], metres")                                 \
    F(F64, rot_cs, (IKNN_MAX_DOF + 1) * 2, "cos, sin of F_i's rotation about x (rot_kind 1)") \
    F(F64, lower, IKNN_MAX_DOF, "joint lower limits (rad, or m for prismatic)")               \
    F(F64, upper, IKNN_MAX_DOF, "joint upper limits (rad, or m for prismatic)")               \
    F(F64, w_pos, 1, "position weight 1 / reach (1/m): metres made comparable with radians")

/* Settings: tolerances, budgets and solve policy (ik_nn/candidates.py packs it). */
#define IKNN_SETTINGS_FIELDS(F)                                                               \
    F(F64, pos_tol, 1, "success: position error at most this (m)")                            \
    F(F64, rot_tol, 1, "success: rotation error at most this (rad)")                          \
    F(F64, branch_tol, 1, "hypotheses within this scaled error of the best are equally good") \
    F(F64, continuity_tol, 1, "an answer continued from the seed that moves a joint more "   \
                              "than this (rad) is checked against the hypotheses")            \
    F(F64, timeout, 1, "wall-clock cap (s) on one target's random restarts; 0: none")          \
    F(F64, max_step, 1, "largest joint change of one LM step (rad or m)")                     \
    F(F64, max_jump, 1, "an answer moving a joint more than this from the seed is not a "     \
                        "success (rad or m); 0: no bound")                                    \
    F(I32, max_iterations, 1, "LM iterations per attempt")                                    \
    F(I32, max_restarts, 1, "random restarts per target after the candidates fail")           \
    F(I32, position_only, 1, "1: match the tool position only")                               \
    F(I32, wrap_to_seed, 1, "1: move periodic joints by whole turns to the seed's turn")      \
    F(I64, random_seed, 1, "seed of the restarts; each target's stream also hashes its pose")

/* Network: what decoding the seeding network's output needs (ik_nn/encoding.py packs it). */
#define IKNN_NETWORK_FIELDS(F)                                                                \
    F(I32, dof, 1, "number of joints")                                                        \
    F(I32, K, 1, "hypotheses per target")                                                     \
    F(I32, M, 1, "outputs per hypothesis")                                                    \
    F(I32, azimuth, 1, "1: the target's azimuth is factored out of joint 0")                  \
    F(I32, first, IKNN_MAX_DOF, "per joint: output column of u (or of s, periodic joints)")   \
    F(I32, second, IKNN_MAX_DOF, "per joint: output column of c (periodic joints), else -1") \
    F(I32, periodic, IKNN_MAX_DOF, "per joint: 1 if decoded as an angle atan2(s, c)")         \
    F(F64, mid, IKNN_MAX_DOF, "per joint: centre of the limits")                             \
    F(F64, half, IKNN_MAX_DOF, "per joint: half-width of the limits")                        \
    F(F64, lower, IKNN_MAX_DOF, "per joint: lower limit")                                     \
    F(F64, upper, IKNN_MAX_DOF, "per joint: upper limit")                                     \
    F(F64, frame, 16, "rows 0-2: base rotation transposed; row 3: base-inverse translation; " \
                      "[12]: 1 / reach")

#define IKNN_MEMBER(t, name, count, doc) IKNN_T_##t name[count];

typedef struct { IKNN_CHAIN_FIELDS(IKNN_MEMBER) } IknnChain;
typedef struct { IKNN_SETTINGS_FIELDS(IKNN_MEMBER) } IknnSettings;
typedef struct { IKNN_NETWORK_FIELDS(IKNN_MEMBER) } IknnNetwork;

#endif
