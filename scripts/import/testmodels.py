"""Small torch models for the conversion checks (scripts/import/check_models.py); also a file to pass to
scripts/import_model.py --torch (--class SmallCNN or SmallViT)."""
import torch
from torch import nn
from torchvision.models.vision_transformer import VisionTransformer


class SmallCNN(nn.Module):
    """A small residual CNN: conv-bn-relu stem, max pool, a residual block, a strided conv-bn-relu, global
    average pooling and a linear head; input 3x64x64."""

    def __init__(self, classes=10):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU())
        self.pool = nn.MaxPool2d(2)
        self.block1 = nn.Sequential(nn.Conv2d(16, 16, 3, padding=1), nn.ReLU(), nn.Conv2d(16, 16, 3, padding=1))
        self.block2 = nn.Sequential(nn.Conv2d(16, 32, 3, stride=2, padding=1), nn.BatchNorm2d(32), nn.ReLU())
        self.head = nn.Linear(32, classes)

    def forward(self, x):
        x = self.pool(self.stem(x))
        x = torch.relu(x + self.block1(x))
        x = self.block2(x)
        return self.head(torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1))


class SmallCNNHead(SmallCNN):
    """SmallCNN whose forward() ends in torch.softmax, torch.sigmoid, torch.log_softmax or torch.log of a softmax
    (head="softmax", "sigmoid", "log_softmax", "log_of_softmax"), a softmax in percent ("percent_softmax"), the
    log of a clamped softmax ("log_of_clamped_softmax") or one logit and no head ("binary_logit", a binary classifier
    trained with BCEWithLogitsLoss): import_model.py's card must say the output's kind."""

    def __init__(self, head="softmax", classes=10):
        super().__init__(1 if head == "binary_logit" else classes)
        self.head_fn = {"softmax": lambda z: torch.softmax(z, 1), "sigmoid": torch.sigmoid,
                        "binary_logit": lambda z: z,
                        "softmax_1x1": lambda z: torch.softmax(z.reshape(-1, z.shape[1], 1, 1), 1).flatten(1),
                        "log_softmax": lambda z: torch.log_softmax(z, 1),
                        "log_of_softmax": lambda z: torch.log(torch.softmax(z, 1)),
                        "percent_softmax": lambda z: 100 * torch.softmax(z, 1),
                        "log_of_clamped_softmax": lambda z: torch.log(torch.clamp(torch.softmax(z, 1), 1e-7, 1))}[head]

    def forward(self, x):
        return self.head_fn(super().forward(x))


class SmallCNNInput(SmallCNN):
    """SmallCNN that takes channels-last images (layout="nhwc": it permutes them itself) or uint8 pixels
    (layout="uint8": it scales them itself), ONNX files that import_model.py refuses by name, or one-channel images
    (layout="gray": a 1x1 convolution to three channels first), which need --grayscale and their own
    normalisation."""

    def __init__(self, layout="nhwc", classes=10):
        super().__init__(classes)
        self.layout = layout
        if layout == "gray":
            self.gray = nn.Conv2d(1, 3, 1)

    def forward(self, x):
        if self.layout == "gray":
            x = self.gray(x)
        else:
            x = x.permute(0, 3, 1, 2) if self.layout == "nhwc" else x.float() / 255.0
        return super().forward(x)


class SmallViT(VisionTransformer):
    """torchvision's VisionTransformer, small: 64x64 input, patch 16 (4x4 = 16 patches and a class token),
    4 layers, 4 heads, width 128, MLP 256, 10 classes."""

    def __init__(self, classes=10):
        super().__init__(image_size=64, patch_size=16, num_layers=4, num_heads=4, hidden_dim=128, mlp_dim=256,
                         num_classes=classes)
        # torchvision starts the head at zero (logits all 0 until trained): random weights instead, so that the
        # checks compare non-zero logits and gradients.
        nn.init.normal_(self.heads.head.weight, std=self.hidden_dim ** -0.5)
        nn.init.normal_(self.heads.head.bias, std=0.1)


class PositiveCNN(nn.Module):
    """A convolution written as a function in forward() (F.conv2d with the module's own weights), then an
    nn.ReLU module. Its weights are a Laplacian with a bias of 6, so that its output is positive on the check
    images (where the ReLU changes nothing) and not on noise: a module name matched on those images alone could
    go to the convolution, whose output equals the ReLU's there; input 3x64x64."""

    def __init__(self, classes=10):
        super().__init__()
        k = torch.tensor([[0, -1, 0], [-1, 4, -1], [0, -1, 0]], dtype=torch.float32) * 0.3
        sign = torch.randn(8, 3, 1, 1, generator=torch.Generator().manual_seed(0)).sign()
        self.w = nn.Parameter(k.expand(8, 3, 3, 3) * sign)
        self.b = nn.Parameter(torch.full((8,), 6.0))
        self.relu = nn.ReLU()
        self.head = nn.Linear(8, classes)

    def forward(self, x):
        h = self.relu(nn.functional.conv2d(x, self.w, self.b))
        return self.head(h.mean((2, 3)))
