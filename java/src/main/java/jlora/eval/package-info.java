/**
 * Evaluation: one model over an eval set ({@link jlora.eval.Evaluator}) into an
 * {@link jlora.eval.EvalReport}, and a base/tuned pair into one table and one bar chart
 * ({@link jlora.eval.CompareChart}).
 *
 * <p>What each example is asked ({@link jlora.eval.EvalItem}): QA rows are generated and scored
 * with KorQuAD v1's exact match and character F1 and seed 003's raw "contains"
 * ({@link jlora.eval.QaMetrics}); tool rows are generated with the tools shown and scored with
 * seed 001's tool_name_accuracy, parameter_accuracy, json_validity_rate and hallucination_rate
 * ({@link jlora.eval.ToolMetrics}); every example that tokenizes adds to the token-weighted eval
 * loss through the training loss itself ({@link jlora.eval.CausalLmLoss}). Latency is timed
 * around {@link jlora.infer.ChatEngine#generate}, so any engine (the model, a test double) is
 * measured the same way.
 */
package jlora.eval;
