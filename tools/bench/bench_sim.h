/* bench_sim.h — `tc-bench sim`: how fast the deterministic simulator runs a steady-state
 * cluster (200 tx/s of wallet load, 1 s blocks) for 4, 16 and 64 validators, with `fast`
 * signatures and with Ed25519; one JSON line per configuration on stdout.
 *
 * Each configuration is one world (sim/world.h) built from a generated scenario and run in this
 * process: wall time of the setup (tc_world_new: genesis, stores, nodes) and of the run
 * (tc_world_run: the event loop and the end-of-run integrity checks) are taken apart. With
 * Ed25519, the time spent inside libsodium's crypto_sign_detached and
 * crypto_sign_verify_detached is measured by a timing wrapper linked into tc-bench only
 * (ld --wrap, see CMakeLists.txt); the core is not touched and does not know.
 */
#ifndef TC_BENCH_SIM_H
#define TC_BENCH_SIM_H

/* Option lines for the usage text. */
extern const char bench_sim_options[];

/* argv[0] is "sim". Returns the exit code: 0 success, 1 a run failed (its verdict, a harness
 * error, or the simulator is not linked in), 2 bad usage. */
int bench_sim_main(int argc, char **argv);

#endif
