/*
 * fmt_shortest.h — shortest round-trip decimal digits of a double, the
 * digit search behind Go's strconv.FormatFloat(v, 'f'/'e', -1, 64) and so
 * behind every sample value the Prometheus API prints (api/prom_fmt.c).
 */
#ifndef OCL_API_FMT_SHORTEST_H
#define OCL_API_FMT_SHORTEST_H

/* Shortest decimal digits of v (> 0, finite) that read back as exactly v;
 * among equally short candidates the one nearest to v (ties: even last
 * digit). Writes them to digits (room for 20: scratch digits may pass
 * 17; no terminator, no trailing zeros) with v ≈ 0.d1d2...dn × 10^*dp and returns n (1..17). */
int ocl_fmt_shortest(double v, char *digits, int *dp);

#endif
