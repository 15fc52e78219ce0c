/* edge_main.h - the edge's entry point (`tollgate edge run`). */
#ifndef TG_EDGE_MAIN_H
#define TG_EDGE_MAIN_H

int cmd_edge_run(int argc, char **argv);

#endif
