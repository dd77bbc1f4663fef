package main

// TensorFlow's C++ runtime logs at load time, before any Go code runs (the
// oneDNN INFO line of libtensorflow's static constructors, CUDA and absl
// lines from a GPU build), and takes TF_CPP_MIN_LOG_LEVEL from the
// environment the process started with. An entry in the executable's
// .preinit_array runs before the initialisers of every shared library (ELF
// gABI, DT_PREINIT_ARRAY); setenv there would be undone when libc's own
// initialiser resets environ, so the entry re-executes the program at once
// with the level set, before libtensorflow has initialised or printed
// anything. It does so unless the user set TF_CPP_MIN_LOG_LEVEL or asked for
// -v. If the re-execution fails, main's quietTensorFlow does it later.

/*
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

static void saliency_quiet_tensorflow(int argc, char **argv, char **envp) {
	if (envp == NULL || argv == NULL) return;
	int n = 0;
	for (; envp[n] != NULL; n++) {
		if (strncmp(envp[n], "TF_CPP_MIN_LOG_LEVEL=", 21) == 0) return;
	}
	for (int i = 1; i < argc; i++) {
		if (argv[i] == NULL || strcmp(argv[i], "--") == 0) break;
		if (strcmp(argv[i], "-v") == 0 || strcmp(argv[i], "--v") == 0 ||
		    strcmp(argv[i], "-v=true") == 0 || strcmp(argv[i], "--v=true") == 0) return;
	}
	char **env = malloc((n + 2) * sizeof *env);
	if (env == NULL) return;
	memcpy(env, envp, n * sizeof *env);
	env[n] = "TF_CPP_MIN_LOG_LEVEL=2";
	env[n + 1] = NULL;
	execve("/proc/self/exe", argv, env); // returns only on failure
	free(env);
}

__attribute__((section(".preinit_array"), used))
static void (*saliency_quiet_tensorflow_entry)(int, char **, char **) = saliency_quiet_tensorflow;
*/
import "C"
