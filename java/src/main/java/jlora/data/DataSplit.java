package jlora.data;

import jlora.UserError;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Train / eval / test split by a seeded shuffle. With n examples and fractions (a, b, c) that
 * sum to 1, eval gets round(b·n) and test round(c·n) examples and train the rest, so a tiny
 * set still gives train everything the rounding leaves over. Same list and seed, same split.
 */
public record DataSplit<T>(List<T> train, List<T> eval, List<T> test) {

    /** Fractions as "0.8,0.1,0.1" (two values mean no test set). */
    public static double[] parseFractions(String spec) {
        String[] parts = spec.split(",");
        if (parts.length < 2 || parts.length > 3) {
            throw new UserError("--split \"" + spec + "\": give train,eval[,test] fractions, e.g. 0.8,0.1,0.1");
        }
        double[] f = new double[3];
        double sum = 0;
        for (int i = 0; i < parts.length; i++) {
            try {
                f[i] = Double.parseDouble(parts[i].trim());
            } catch (NumberFormatException e) {
                throw new UserError("--split \"" + spec + "\": \"" + parts[i].trim() + "\" is not a number");
            }
            if (!(f[i] >= 0 && f[i] <= 1)) throw new UserError("--split \"" + spec + "\": each fraction must be in [0, 1]");
            sum += f[i];
        }
        if (Math.abs(sum - 1) > 1e-6) throw new UserError("--split \"" + spec + "\": fractions sum to " + sum + ", not 1");
        return f;
    }

    public static <T> DataSplit<T> of(List<T> items, double[] fractions, long seed) {
        int n = items.size();
        int nEval = (int) Math.round(fractions[1] * n);
        int nTest = (int) Math.round(fractions[2] * n);
        if (nEval + nTest > n) nTest = n - nEval;
        Integer[] order = Packing.shuffled(n, new SplittableRandom(seed));
        List<T> eval = new ArrayList<>(nEval);
        List<T> test = new ArrayList<>(nTest);
        List<T> train = new ArrayList<>(n - nEval - nTest);
        for (int k = 0; k < n; k++) {
            T item = items.get(order[k]);
            if (k < nEval) eval.add(item);
            else if (k < nEval + nTest) test.add(item);
            else train.add(item);
        }
        return new DataSplit<>(train, eval, test);
    }
}
