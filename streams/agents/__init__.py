"""The worker's agents: the trading core's (every mode) and the live venue's.

Only the composition root (`streams.app`) imports them (an import contract keeps it so):
they bind the pure core to the runtime and to faust.
"""
