package jlora.tokenizer.jinja;

import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.lib.tag.Tag;
import com.hubspot.jinjava.tree.Node;
import com.hubspot.jinjava.tree.TagNode;

/**
 * transformers' {@code {% generation %}...{% endgeneration %}} block, which marks the text an
 * assistant produces (what {@code return_assistant_tokens_mask} and TRL's assistant_only_loss
 * train). The block renders its body between two private-use characters; the renderer strips
 * them and, when asked, turns their positions into spans.
 */
public final class GenerationTag implements Tag {
    public static final char START = '\uE001';
    public static final char END = '\uE002';

    @Override public String getName() { return "generation"; }

    @Override public String getEndTagName() { return "endgeneration"; }

    @Override
    public String interpret(TagNode tagNode, JinjavaInterpreter interpreter) {
        StringBuilder body = new StringBuilder().append(START);
        for (Node child : tagNode.getChildren()) body.append(child.render(interpreter).getValue());
        return body.append(END).toString();
    }
}
