package jlora.data;

/** Control flow inside {@link RecordConverter}: the row is bad for this reason. */
final class Rejected extends Exception {
    final Problem.Kind kind;

    Rejected(Problem.Kind kind, String reason) {
        super(reason, null, false, false);
        this.kind = kind;
    }
}
