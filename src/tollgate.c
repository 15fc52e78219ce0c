int tg_main(int argc, char **argv); int main(int argc, char **argv){return tg_main(argc, argv);}
