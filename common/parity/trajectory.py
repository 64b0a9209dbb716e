"""Records an optimiser trajectory in PyTorch for the trajectory-parity tests
(tests/src/trajectory.rs): a net's state dict before and after `steps` SGD updates on batches
drawn from a fixed pool, and each step's loss and learning rate. Each paper's
`parity/make_golden.py` builds its small net and calls `record`; PyTorch is needed only here.

Files written into the current folder, for `name`:
  <name>-init.safetensors    state dict before the first step (no `num_batches_tracked`)
  <name>-final.safetensors   state dict after the last step
  <name>-steps.safetensors   images f32 [pool, c, h, w], labels i64 [pool], indices i64
                             [steps, batch], epochs i64 [steps] (1-based), loss and lr f32 [steps]
"""
import torch
import torch.nn.functional as F
from safetensors.torch import save_file


def state(net):
    return {k: v.detach().clone().contiguous() for k, v in net.state_dict().items() if not k.endswith("num_batches_tracked")}


def record(name, net, images, labels, indices, epochs, lr_at, momentum, weight_decay, loss_of=None):
    """Trains `net` in training mode with torch.optim.SGD (dampening 0, coupled weight decay),
    the learning rate of step i being `lr_at(epochs[i], i)`. `loss_of(output, targets)` defaults
    to the mean cross-entropy of `net`'s logits."""
    loss_of = loss_of or (lambda out, y: F.cross_entropy(out, y))
    save_file(state(net), f"{name}-init.safetensors")
    optimizer = torch.optim.SGD(net.parameters(), lr=lr_at(epochs[0], 0), momentum=momentum, weight_decay=weight_decay)
    net.train()
    losses, rates = [], []
    for i, (picked, epoch) in enumerate(zip(indices, epochs)):
        lr = lr_at(epoch, i)
        for group in optimizer.param_groups:
            group["lr"] = lr
        loss = loss_of(net(images[picked]), labels[picked])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        rates.append(lr)
    save_file(state(net), f"{name}-final.safetensors")
    save_file(
        {
            "images": images.contiguous(),
            "labels": labels.to(torch.int64).contiguous(),
            "indices": torch.tensor(indices, dtype=torch.int64),
            "epochs": torch.tensor(epochs, dtype=torch.int64),
            "loss": torch.tensor(losses, dtype=torch.float32),
            "lr": torch.tensor(rates, dtype=torch.float32),
        },
        f"{name}-steps.safetensors",
    )
    print(f"{name}: loss {losses[0]:.4f} -> {losses[-1]:.4f} over {len(losses)} steps")


def batches(pool, batch, steps, generator):
    """Each step's batch: `batch` distinct pool indices, drawn afresh."""
    return [torch.randperm(pool, generator=generator)[:batch].tolist() for _ in range(steps)]
