"""segment-anything's mask decoder, run with less work per click (same weights, same result).

``MaskDecoder.forward`` recomputes, on every click, things that a click cannot change, and runs
its upscaling through two ``ConvTranspose2d`` layers that PyTorch's CPU backend executes slowly.
:class:`FastMaskDecoder` executes the same modules (their own ``Linear``, ``LayerNorm`` and MLP
layers, their own weights) in an order that avoids that work:

* **per image, once**: in the first two-way attention block the image tokens are still the image
  embedding plus the "no mask" embedding, so three of that block's four large projections (the
  token-to-image keys and values, the image-to-token queries) depend on the image alone. They are
  computed on the first click and kept with the image (:class:`ImagePrecompute`). A click that
  feeds back a mask (refinement with the previous logits) changes the image tokens and takes the
  full path.
* **per click**: ``keys + key_pe`` is formed once per block instead of twice; attention runs
  through ``scaled_dot_product_attention`` (softmax(q k^T / sqrt(d)) v, the formula of
  segment-anything's ``Attention``); each ``ConvTranspose2d(kernel 2, stride 2)`` - whose output
  pixels do not overlap - is one matrix product followed by a pixel rearrangement, in a
  channels-last layout where ``LayerNorm2d`` is a plain ``layer_norm``; only the mask tokens the
  caller wants are multiplied out.

The result equals ``MaskDecoder.forward`` up to float rounding (tests compare the two on random
weights). A decoder whose structure differs from the one this relies on (another upscaling, other
kernel sizes, a batch of images) is run through its own ``forward``: :func:`supports` says which.
Torch is imported by the functions, not by this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


def supports(decoder: Any) -> bool:
    """True when ``decoder`` has the structure of segment-anything's ``MaskDecoder``."""
    import torch.nn as nn

    try:
        up = decoder.output_upscaling
        convs = [up[0], up[3]]
        shaped = all(isinstance(c, nn.ConvTranspose2d) and tuple(c.kernel_size) == (2, 2)
                     and tuple(c.stride) == (2, 2) and tuple(c.padding) == (0, 0)
                     and tuple(c.output_padding) == (0, 0) and c.groups == 1 and tuple(c.dilation) == (1, 1)
                     for c in convs)
        norm = up[1]
        return (shaped and len(up) == 5 and isinstance(up[2], nn.GELU) and isinstance(up[4], nn.GELU)
                and type(norm).__name__ == "LayerNorm2d" and hasattr(norm, "eps")
                and all(hasattr(layer, "skip_first_layer_pe") for layer in decoder.transformer.layers)
                and len(decoder.transformer.layers) > 0)
    except (AttributeError, IndexError, TypeError):
        return False


@dataclass
class ImagePrecompute:
    """What the first attention block computes from the image alone (for one image, no mask input)."""

    features: Any  # the image embedding it was made from (identity is checked)
    keys: Any  # (1, HW, C): image tokens + the "no mask" embedding
    key_pe: Any  # (1, HW, C), shared by all images
    t2i_k: Any  # heads of the token-to-image keys
    t2i_v: Any  # heads of the token-to-image values
    i2t_q: Any  # (heads, d, HW): the image-to-token queries, projected


def _heads(x, n: int):
    b, t, c = x.shape
    return x.view(b, t, n, c // n).transpose(1, 2)


def _attend(attention, q_heads, k_heads, v_heads):
    """segment-anything's ``Attention`` after its three input projections."""
    import torch.nn.functional as F

    out = F.scaled_dot_product_attention(q_heads, k_heads, v_heads)
    b, n, t, d = out.shape
    return attention.out_proj(out.transpose(1, 2).reshape(b, t, n * d))


def _split(linear, heads: int):
    """A ``Linear``'s weight as (heads, d, in) and bias as (heads, d)."""
    w = linear.weight
    return w.view(heads, w.shape[0] // heads, w.shape[1]), linear.bias.view(heads, -1)


def _tokens_to_image(attention, q_in, k_in, v_in):
    """``attention(q=q_in, k=k_in, v=v_in)`` for a few queries (1, n, C) and many keys (1, N, C),
    without projecting the N keys and values: the key projection is moved onto the queries
    (q . (W_k k + b_k) = (W_k^T q) . k + a constant that softmax removes) and the value
    projection after the weighted sum (the weights sum to one, so the bias passes through)."""
    import torch

    h = attention.num_heads
    wq_k, _ = _split(attention.k_proj, h)
    wv, bv = _split(attention.v_proj, h)
    n, d = q_in.shape[1], wq_k.shape[1]
    q = attention.q_proj(q_in[0]).view(n, h, d)
    qk = torch.einsum("nhd,hdc->hnc", q, wq_k).reshape(h * n, -1) * d ** -0.5  # (h*n, C)
    p = torch.softmax(qk @ k_in[0].T, dim=-1)  # (h*n, N)
    mixed = (p @ v_in[0]).view(h, n, -1)  # (h, n, C): the weighted sums of unprojected values
    out = torch.einsum("hnc,hdc->nhd", mixed, wv) + bv  # (n, h, d)
    return attention.out_proj(out.reshape(1, n, h * d))


def _image_to_tokens(attention, q_in, k_in, v_in, q_proj=None):
    """``attention(q=q_in, k=k_in, v=v_in)`` for many queries (1, N, C) and a few keys (1, n, C),
    without the two N-row projections: the query projection is moved onto the keys (unless the
    projected queries ``q_proj`` are given, as (heads, d, N)) and the output projection onto the values."""
    import torch

    h = attention.num_heads
    k = attention.k_proj(k_in[0])
    v = attention.v_proj(v_in[0])
    n, inner = k.shape
    d = inner // h
    k, v = k.view(n, h, d), v.view(n, h, d)
    # scores as (heads, n, N): softmax over the few keys, with the many queries contiguous
    # (PyTorch's CPU softmax over a last dimension of 7 is several times slower)
    if q_proj is None:
        wq, bq = _split(attention.q_proj, h)
        kq = torch.einsum("nhd,hdc->hnc", k, wq).reshape(h * n, -1)  # (h*n, C)
        const = torch.einsum("nhd,hd->hn", k, bq).reshape(h * n, 1)
        scores = torch.addmm(const, kq, q_in[0].T).view(h, n, -1)
    else:
        scores = torch.bmm(k.transpose(0, 1), q_proj)  # (h, n, d) @ (h, d, N)
    p = torch.softmax(scores * d ** -0.5, dim=1).view(h * n, -1)
    wo = attention.out_proj.weight.view(-1, h, d)  # (C, h, d)
    vo = torch.einsum("nhd,chd->hnc", v, wo).reshape(h * n, -1)  # (h*n, C): projected values
    return torch.addmm(attention.out_proj.bias, p.T, vo)[None]


def _conv_transpose_2x2_weights(conv):
    """``conv`` (ConvTranspose2d, kernel 2, stride 2) as ``(bias, weight)`` of one matrix product
    from a pixel's ``cin`` channels to its 2 x 2 output block, columns ordered (row, col, channel)."""
    cin, cout = conv.weight.shape[:2]
    return conv.bias.detach().repeat(4), conv.weight.detach().permute(0, 2, 3, 1).reshape(cin, 4 * cout)


class FastMaskDecoder:
    """Runs one segment-anything ``Sam``'s mask decoder for a single image, click after click."""

    def __init__(self, sam: Any) -> None:
        self.sam = sam
        self.decoder = sam.mask_decoder
        self.transformer = self.decoder.transformer
        self.fast = supports(self.decoder)
        self._pe = None  # (image_pe, its tokens)
        if self.fast:
            up = self.decoder.output_upscaling
            self._upscaling = [_conv_transpose_2x2_weights(up[0]), _conv_transpose_2x2_weights(up[3])]

    def _key_pe(self, image_pe):
        """``image_pe`` as tokens (HW, C), made once per positional-encoding tensor."""
        if self._pe is None or self._pe[0] is not image_pe:
            self._pe = (image_pe, image_pe.flatten(2).transpose(1, 2).contiguous())
        return self._pe[1]

    def precompute(self, features, image_pe) -> ImagePrecompute:
        """The first block's image-only projections for ``features`` (1, C, h, w)."""
        import torch

        with torch.inference_mode():
            dense = self.sam.prompt_encoder.no_mask_embed.weight.reshape(1, -1, 1, 1)
            keys = (features + dense).flatten(2).transpose(1, 2).contiguous()
            key_pe = self._key_pe(image_pe)
            layer = self.transformer.layers[0]
            k = keys + key_pe
            t2i, i2t = layer.cross_attn_token_to_image, layer.cross_attn_image_to_token
            return ImagePrecompute(features, keys, key_pe, _heads(t2i.k_proj(k), t2i.num_heads),
                                   _heads(t2i.v_proj(keys), t2i.num_heads),
                                   _heads(i2t.q_proj(k), i2t.num_heads)[0].transpose(1, 2).contiguous())

    def __call__(self, features, image_pe, sparse, dense, multimask: bool, mask_given: bool,
                 pre: ImagePrecompute | None = None):
        """``(low_res_masks, iou_predictions)`` as ``MaskDecoder.forward`` returns them."""
        if not self.fast or features.shape[0] != 1 or sparse.shape[0] != 1:
            return self.decoder(image_embeddings=features, image_pe=image_pe, sparse_prompt_embeddings=sparse,
                                dense_prompt_embeddings=dense, multimask_output=multimask)
        import torch

        d = self.decoder
        tokens = torch.cat([d.iou_token.weight, d.mask_tokens.weight, sparse[0]], dim=0)[None]
        if mask_given or pre is None or pre.features is not features:
            keys = (features + dense).flatten(2).transpose(1, 2).contiguous()
            key_pe = self._key_pe(image_pe)
            first = None
        else:
            keys, key_pe, first = pre.keys, pre.key_pe, pre
        queries = tokens
        for i, layer in enumerate(self.transformer.layers):
            queries, keys = self._block(layer, queries, keys, tokens, key_pe, first if i == 0 else None)
        final = self.transformer.final_attn_token_to_image
        q = queries + tokens
        k = keys + key_pe
        queries = queries + _tokens_to_image(final, q, k, keys)
        hs = self.transformer.norm_final_attn(queries)

        wanted = range(1, d.num_mask_tokens) if multimask else range(0, 1)
        _, c, h, w = features.shape
        # the upscaling, pixel by pixel: rows of x are pixels in "block order" (i, j, a, b, c, d),
        # the output pixel (4i + 2a + c, 4j + 2b + d); only the few masks are put in image order
        up, (b1, w1), (b2, w2) = d.output_upscaling, self._upscaling[0], self._upscaling[1]
        x = torch.addmm(b1, keys[0], w1).view(4 * h * w, -1)  # (h*w*2*2, c/4), channels last
        x = up[2](torch.nn.functional.layer_norm(x, (x.shape[-1],), up[1].weight, up[1].bias, up[1].eps))
        x = up[4](torch.addmm(b2, x, w2)).view(16 * h * w, -1)  # (h*w*4*4, c/8)
        hyper = torch.stack([d.output_hypernetworks_mlps[i](hs[0, 1 + i]) for i in wanted])  # (n, c/8)
        masks = (x @ hyper.T).view(h, w, 2, 2, 2, 2, len(wanted)).permute(6, 0, 2, 4, 1, 3, 5)
        masks = masks.reshape(1, len(wanted), 4 * h, 4 * w)
        iou = d.iou_prediction_head(hs[:, 0])[:, wanted.start:wanted.stop]
        return masks, iou

    @staticmethod
    def _block(layer, queries, keys, query_pe, key_pe, first: ImagePrecompute | None):
        """``TwoWayAttentionBlock.forward``; ``first`` holds its image-only projections."""
        if layer.skip_first_layer_pe:
            queries = layer.self_attn(q=queries, k=queries, v=queries)
        else:
            q = queries + query_pe
            queries = queries + layer.self_attn(q=q, k=q, v=queries)
        queries = layer.norm1(queries)

        t2i, i2t = layer.cross_attn_token_to_image, layer.cross_attn_image_to_token
        q = queries + query_pe
        if first is not None:
            attn = _attend(t2i, _heads(t2i.q_proj(q), t2i.num_heads), first.t2i_k, first.t2i_v)
            k = None
        else:
            k = keys + key_pe  # the keys do not change before the image-to-token step: one sum
            attn = _tokens_to_image(t2i, q, k, keys)
        queries = layer.norm2(queries + attn)
        queries = layer.norm3(queries + layer.mlp(queries))

        q = queries + query_pe
        if first is not None:
            keys = keys + _image_to_tokens(i2t, None, q, queries, q_proj=first.i2t_q)
        else:
            keys = keys + _image_to_tokens(i2t, k, q, queries)
        return queries, layer.norm4(keys)
