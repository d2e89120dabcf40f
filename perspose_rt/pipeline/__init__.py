"""The real-time pipeline: capture sources, threaded stages joined by bounded queues, timing.

Entry points: :class:`perspose_rt.pipeline.runner.Pipeline` runs a source through stages;
:func:`perspose_rt.pipeline.build.build_stages` assembles the stages of an estimator from
:class:`perspose_rt.pipeline.build.EstimatorOptions`. See ``docs/PIPELINE.md``.
"""
