"""The engine behind the demo and every study: the recipe, the cached stand-in base, the training mixes,
run folders named by what they train, the job pool, the evaluations, and one loop (`loop.run_experiment`)
that turns a declared `Study` into trained, evaluated and reported runs for each seed."""
