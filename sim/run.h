/* run.h — `timesim run`: runs scenario files (or every `.scn` of a folder, in name order) on the
 * simulated world and reports each as one summary JSON line on stdout.
 *
 *   timesim run FILE.scn|DIR... [--seed N] [--trace PATH] [--until T] [--timeline]
 *               [--junit PATH] [--quiet]
 *
 * Output contract (DESIGN.md): progress on stderr (a line per simulated 10 s unless --quiet),
 * one summary JSON line per scenario on stdout, the last line of stdout for a single file; a
 * failing run prints the exact command that replays it on stderr; several files end with a
 * tally "N passed, M failed" on stderr. --timeline writes a readable per-node account on
 * stdout before the summary. Exit codes: 0 every scenario passed, 1 one failed, 2 bad input
 * (a scenario error is reported as `file:line:column: message` on stderr).
 */
#ifndef TC_RUN_H
#define TC_RUN_H

/* argv[0] is the program, argv[1] is "run". Returns the exit code. */
int tc_sim_run_main(int argc, char **argv);

extern const char tc_sim_run_usage[];

#endif
