/* Steering the CUDA simulator from C (tests, the verifier). */
#ifndef MT_CUDA_SIM_CONTROL_H
#define MT_CUDA_SIM_CONTROL_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The order in which a block's threads run between barriers, and the blocks of a grid run. */
typedef enum mt_sim_order {
    MT_SIM_ORDER_VARY = 0, /* per launch, cycling forward / reversed / shuffled (the default) */
    MT_SIM_ORDER_FORWARD,  /* thread 0 first, block 0 first */
    MT_SIM_ORDER_REVERSE,  /* the last thread first, the last block first */
    MT_SIM_ORDER_SHUFFLE   /* a fresh permutation per block and barrier phase, from the seed */
} mt_sim_order;

/* Applies to the launches made after the call on any host thread. */
void mt_cuda_sim_set_order(mt_sim_order order, uint64_t seed);
/* Kernel launches the simulator has run so far (for tests that check something ran). */
uint64_t mt_cuda_sim_launches(void);

#ifdef __cplusplus
}
#endif

#endif
